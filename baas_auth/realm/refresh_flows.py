"""Refresh tokens (behaviour §9), as flows: switched on per app, rotated on every use, and kept
in families whose replay ends them.

A password grant of an app with ``refresh_token_ttl_ms`` starts a **family**
(``refresh_families``), living until the grant's time plus the app's refresh TTL: rotation never
extends it. Each refresh token is stored twice, only by its hash: a token record marked
``refresh`` in its user's index (so revoke-all, disabling and deleting the user remove it, and it
is never accepted as a Bearer credential), and ``refresh:<hash>`` naming its family (so a spent
one is still recognised). The family keeps a digest of the user's password hash: a password
changed since ends it at its next use. A refresh replaces the family record by
compare-and-swap: among concurrent refreshes with one token exactly one wins; the others, and any
later presentation of a spent token, are replays, which end the family (RFC 9700 §4.14.2) except
for the immediately previous token within the app's grace window.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.tokens import (
    VerifiedToken,
    expires_at,
    expires_in_seconds,
    issue_token,
    resolve_ttl_ms,
)
from baas_auth.errors import ConfigError, InvalidGrantError, InvalidTokenError, NotFoundError
from baas_auth.model import App, Principal, TokenGrant
from baas_auth.realm.directory import get_app
from baas_auth.realm.lookups import app_of, user_of
from baas_auth.realm.onetime import binding_of
from baas_auth.realm.refresh_families import (
    REFUSED,
    FamilyRecord,
    end_family,
    family_key,
    live_members,
    member,
    refresh_key,
    replayed,
)
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, put
from baas_auth.realm.token_checks import verify
from baas_auth.realm.token_commands import (
    delete_token,
    get_token,
    get_transient,
    put_token,
    swap_transient,
)
from baas_auth.realm.views import fresh_view

__all__ = ["MAX_GRACE_MS", "is_current", "refresh", "set_refresh_token_ttl", "start_family"]

MAX_GRACE_MS = 60_000


# -- the setting ----------------------------------------------------------------------------


def set_refresh_token_ttl(org: str, app: str, ttl_ms: int | None, grace_ms: int) -> Flow[App]:
    """Switch refresh tokens on for the app (``ttl_ms`` > 0: the life of a family) or off
    (None or 0); ``grace_ms`` (0 to 60 000) lets the previous token be retried that long."""
    if ttl_ms is not None and (not isinstance(ttl_ms, int) or ttl_ms < 0):
        raise ConfigError("refresh_token_ttl_ms must be None or a whole number of ms >= 0")
    if not isinstance(grace_ms, int) or not 0 <= grace_ms <= MAX_GRACE_MS:
        raise ConfigError(f"grace_ms must be between 0 and {MAX_GRACE_MS}")
    found = yield from app_of(org, app)
    found.refresh_token_ttl_ms = ttl_ms or None
    found.refresh_grace_ms = grace_ms
    yield from put(record_keys.app_key(found.org, found.name), rec.encode(found))
    return (yield from get_app(found.org, found.name))


# -- issuing ----------------------------------------------------------------------------------


def start_family(
    state: RealmState,
    app: rec.AppRecord,
    grant: TokenGrant,
    access: VerifiedToken,
    password_hash: str,
) -> Flow[TokenGrant]:
    """``grant`` (a password grant's) with a refresh token, when the app has them on."""
    principal = grant.principal
    if not app.refresh_token_ttl_ms or principal.uuid is None:
        return grant
    now = state.now_ms()
    family_id = secrets.token_hex(16)
    refresh_token, refresh_id = issue_token(
        state.ring().current, expires_at_ms=now + app.refresh_token_ttl_ms
    )
    family = FamilyRecord(
        app.org,
        app.name,
        principal.uuid,
        principal.username or "",
        now + app.refresh_token_ttl_ms,
        refresh_id,
        tokens=[
            member(access.token_id, access.expires_at_ms),
            member(refresh_id, now + app.refresh_token_ttl_ms),
        ],
        password=binding_of(password_hash),
    )
    stored = rec.encode(family)
    key = family_key(family_id)
    if not (yield from swap_transient(key, None, stored, expires_at_ms=family.ends_ms)):
        raise ConfigError("refresh family collision; try again")  # 128 random bits: never
    yield from _store_refresh(state, family, family_id, refresh_id, now)
    return replace(grant, refresh_token=refresh_token)


def _store_refresh(
    state: RealmState, family: FamilyRecord, family_id: str, refresh_id: str, now: int
) -> Flow[None]:
    marker = rec.TokenRecord(
        "app_user", family.subject, state.ring().current.kid, now, family.ends_ms,
        family.org, family.app, family.username, refresh=True,
    )  # fmt: skip
    yield from put_token(
        refresh_id,
        record_keys.principal_key(marker),
        rec.encode(marker),
        created_ms=now,
        expires_at_ms=family.ends_ms,
    )
    key = refresh_key(refresh_id)
    yield from swap_transient(key, None, family_id.encode(), expires_at_ms=family.ends_ms)


# -- refreshing -------------------------------------------------------------------------------


def refresh(
    state: RealmState, org: str, app: str, token: object, ttl_ms: int | None = None
) -> Flow[TokenGrant]:
    """A new access token and a new refresh token for ``token``, which is spent; 400
    ``invalid_grant`` for any token that is not the current one of a live family of this app."""
    refresh_id, family_id = yield from _family_of(state, token)
    key = family_key(family_id)
    raw = yield from get_transient(key)
    if raw is None:
        raise InvalidGrantError(REFUSED)
    family = rec.decode(FamilyRecord, raw)
    if (family.org, family.app) != (org.lower(), app.lower()) or family.ended:
        raise InvalidGrantError(REFUSED)  # another app's token is left alone
    found = yield from app_of(org, app)
    now = state.now_ms()
    if refresh_id != family.current:
        yield from replayed(key, family, refresh_id, found, now)
    if (yield from get_token(refresh_id)).record is None:
        yield from _gone(key, refresh_id, found, now)
    if now >= family.ends_ms or not found.refresh_token_ttl_ms:
        yield from end_family(key)
        raise InvalidGrantError(REFUSED)
    yield from _check_user_now(key, found, family)
    return (yield from _rotate(state, found, key, raw, family, refresh_id, ttl_ms))


def _family_of(state: RealmState, token: object) -> Flow[tuple[str, str]]:
    try:
        verified = yield from verify(state, token, allow_expired=False)
    except InvalidTokenError:
        raise InvalidGrantError(REFUSED) from None
    named = yield from get_transient(refresh_key(verified.token_id))
    if named is None:  # an access token, or a refresh token of a family long over
        raise InvalidGrantError(REFUSED)
    return verified.token_id, rec.decode_text(named, "refresh family id")


def _gone(key: str, refresh_id: str, app: rec.AppRecord, now: int) -> Flow[None]:
    """The current refresh token's record is gone: spent by a concurrent refresh since the
    family was read (then this is a replay), or removed by revoke-all, a password change,
    disabling or deleting the user (then the family ends)."""
    latest = yield from get_transient(key)
    if latest is not None:
        family = rec.decode(FamilyRecord, latest)
        if family.current != refresh_id:
            yield from replayed(key, family, refresh_id, app, now)
    yield from end_family(key)
    raise InvalidGrantError(REFUSED)


def is_current(state: RealmState, token_id: str) -> Flow[bool]:
    """Whether ``token_id`` is the current refresh token of a family that a refresh would
    still accept (not ended, within its life, its user usable with the same password)."""
    named = yield from get_transient(refresh_key(token_id))
    family_id = None if named is None else rec.decode_text(named, "refresh family id")
    raw = None if family_id is None else (yield from get_transient(family_key(family_id)))
    if raw is None:
        return False
    family = rec.decode(FamilyRecord, raw)
    if family.ended or family.current != token_id or state.now_ms() >= family.ends_ms:
        return False
    try:
        user = yield from user_of((yield from app_of(family.org, family.app)), family.subject)
    except NotFoundError:
        return False
    usable = user.uuid == family.subject and user.activated and not user.disabled
    return usable and binding_of(user.password_hash) == family.password


def _check_user_now(key: str, app: rec.AppRecord, family: FamilyRecord) -> Flow[None]:
    """A refresh gets the state of now: a user deleted, disabled or deactivated since is
    refused (and its family ended)."""
    try:
        user = yield from user_of(app, family.subject)
    except NotFoundError:
        user = None
    if (
        user is None
        or user.uuid != family.subject
        or user.disabled
        or not user.activated
        or binding_of(user.password_hash) != family.password
    ):
        yield from end_family(key)
        raise InvalidGrantError(REFUSED)


def _rotate(
    state: RealmState,
    app: rec.AppRecord,
    key: str,
    raw: bytes,
    family: FamilyRecord,
    spent_id: str,
    ttl_ms: int | None,
) -> Flow[TokenGrant]:
    yield from fresh_view(state)  # keys rotated or retired since: reloaded
    now = state.now_ms()
    ceiling = (
        state.settings.max_token_ttl_ms
        if app.access_token_ttl_ms is None
        else (app.access_token_ttl_ms or None)
    )
    ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=ceiling)
    signing = state.ring().current
    access, access_id = issue_token(signing, expires_at_ms=expires_at(now, ttl))
    refresh_token, refresh_id = issue_token(signing, expires_at_ms=family.ends_ms)
    rotated = replace(
        family,
        current=refresh_id,
        previous=spent_id,
        previous_spent_ms=now,
        tokens=[
            *live_members(family.tokens, now, spent_id),
            member(access_id, expires_at(now, ttl)),
            member(refresh_id, family.ends_ms),
        ],
    )
    new = rec.encode(rotated)
    if not (yield from swap_transient(key, raw, new, expires_at_ms=family.ends_ms)):
        latest = yield from get_transient(key)  # a concurrent refresh won: this is a replay
        if latest is None:
            raise InvalidGrantError(REFUSED)
        yield from replayed(key, rec.decode(FamilyRecord, latest), spent_id, app, now)
    yield from delete_token(spent_id)
    record = rec.TokenRecord(
        "app_user", family.subject, signing.kid, now, expires_at(now, ttl),
        family.org, family.app, family.username,
    )  # fmt: skip
    yield from put_token(
        access_id,
        record_keys.principal_key(record),
        rec.encode(record),
        created_ms=now,
        expires_at_ms=record.expires_at_ms,
    )
    family_id = key.removeprefix("refresh-family:")
    yield from _store_refresh(state, rotated, family_id, refresh_id, now)
    after = yield from get_transient(key)
    if after is None or rec.decode(FamilyRecord, after).ended:
        # A replay ended the family while these were written: its deletions may have run
        # before them, so they go now, and the family ends with every token it issued.
        yield from delete_token(access_id)
        yield from delete_token(refresh_id)
    principal = Principal(
        kind="app_user",
        org=family.org,
        app=family.app,
        uuid=family.subject,
        username=family.username,
    )
    return TokenGrant(access, expires_in_seconds(ttl), principal, refresh_token)
