"""Single-use, expiring tokens for password resets, activation and confirmation, as flows.

A token is 256 random bits, handed once to the realm's ``on_user_token`` hook; the store keeps
only its SHA-256, as a transient record saying what kind of token it is, whose, and what it is
bound to. Redeeming it is a compare-and-swap that removes the record, so a token works once
even when two requests race with it; a wrong account, kind or binding, an expired or an unknown
token are all refused alike.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from baas_auth.core import records as rec
from baas_auth.errors import ConfigError, InvalidGrantError
from baas_auth.model import UserToken, UserTokenKind
from baas_auth.realm.state import RealmState, UserTokenHook
from baas_auth.realm.store_commands import Flow, offload
from baas_auth.realm.token_commands import get_transient, swap_transient

__all__ = ["ADMIN_SCOPE", "REFUSED", "OneTimeRecord", "binding_of", "issue", "redeem"]

ADMIN_SCOPE = "admin"
"""The scope of admin users' tokens; an app user's is ``org/app`` (never without a ``/``)."""
REFUSED = "the token is invalid, already used or expired"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_LOGGER = logging.getLogger("baas_auth")


@dataclass(slots=True)
class OneTimeRecord:
    """What the store keeps of a token: never the token itself."""

    kind: str
    scope: str
    subject: str
    """The account's uuid."""
    binding: str
    """For a reset, a digest of the password hash it may replace (any change of password
    voids it); empty otherwise."""
    expires_at_ms: int


def binding_of(password_hash: str | None) -> str:
    """What binds a reset token to the password it replaces."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()


def _key(token: str) -> str:
    return "onetime:" + hashlib.sha256(token.encode("ascii")).hexdigest()


def _ttl_ms(state: RealmState, kind: UserTokenKind) -> int:
    settings = state.settings
    return settings.reset_token_ttl_ms if kind == "reset" else settings.activation_token_ttl_ms


def issue(
    state: RealmState,
    kind: UserTokenKind,
    account: rec.UserRecord | rec.AdminRecord,
    app: rec.AppRecord | None,
    binding: str = "",
) -> Flow[None]:
    """Make a token of ``kind`` for ``account`` (an app user of ``app``, or an admin user when
    ``app`` is None) and hand it to the hook; ConfigError when the realm has none."""
    hook = state.settings.on_user_token
    if hook is None:
        raise ConfigError(
            "this realm has no on_user_token hook to deliver the token: "
            "Realm(store, on_user_token=callable)"
        )
    token = secrets.token_urlsafe(32)
    expires_at_ms = state.now_ms() + _ttl_ms(state, kind)
    scope = ADMIN_SCOPE if app is None else f"{app.org}/{app.name}"
    record = OneTimeRecord(kind, scope, account.uuid, binding, expires_at_ms)
    stored = rec.encode(record)
    if not (yield from swap_transient(_key(token), None, stored, expires_at_ms=expires_at_ms)):
        raise ConfigError("token collision; try again")  # 256 random bits: never in practice
    notice = UserToken(
        kind=kind,
        token=token,
        uuid=account.uuid,
        username=account.username,
        email=account.email,
        org=None if app is None else app.org,
        app=None if app is None else app.name,
        expires_at_ms=expires_at_ms,
    )
    yield from offload(_deliver, hook, notice)


def _deliver(hook: UserTokenHook, notice: UserToken) -> None:
    """Call the hook; an error it raises is logged (its kind, never the token) and changes
    nothing, so the answer to whoever asked for the token is the same either way."""
    try:
        hook(notice)
    except Exception as error:  # the application's code: reported, not propagated
        _LOGGER.error(
            "the on_user_token hook raised %s for a %s token", type(error).__name__, notice.kind
        )


def redeem(
    state: RealmState,
    token: object,
    kind: UserTokenKind,
    scope: str,
    subject: str,
    binding: str = "",
) -> Flow[None]:
    """Use up ``token`` for ``kind`` on the account ``subject`` of ``scope``, or
    InvalidGrantError (whatever the reason, and then the token is left as it was)."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidGrantError(REFUSED)
    key = _key(token)
    raw = yield from get_transient(key)
    if raw is None:
        raise InvalidGrantError(REFUSED)
    record = rec.decode(OneTimeRecord, raw)
    wanted = (kind, scope, subject, binding)
    if (record.kind, record.scope, record.subject, record.binding) != wanted:
        raise InvalidGrantError(REFUSED)
    if state.now_ms() >= record.expires_at_ms:
        raise InvalidGrantError(REFUSED)
    if not (yield from swap_transient(key, raw, None, expires_at_ms=record.expires_at_ms)):
        raise InvalidGrantError(REFUSED)  # a concurrent request used it first
