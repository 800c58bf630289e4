"""Refresh tokens (behaviour §9), as flows: switched on per app (and for admin users per realm),
rotated on every use, and kept in families whose replay ends them.

A password grant of an app with ``refresh_token_ttl_ms`` (or an admin's, when the realm's
``AdminRefreshRecord`` has one) starts a **family**
(``refresh_families``), living until the grant's time plus the app's refresh TTL: rotation never
extends it. Each refresh token is stored twice, only by its hash: a token record marked
``refresh`` in its user's index (so revoke-all, disabling and deleting the user remove it, and it
is never accepted as a Bearer credential), and ``refresh:<hash>`` naming its family (so a spent
one is still recognised). The family keeps a digest of the user's password hash: a password
changed since ends it at its next use. A refresh replaces the family record by
compare-and-swap: among concurrent refreshes with one token exactly one wins; the others, and any
later presentation of a spent token, are replays, which end the family (RFC 9700 §4.14.2) except
for the immediately previous token within the grace window.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

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
from baas_auth.model import App, Principal, RefreshSettings, TokenGrant
from baas_auth.realm.directory import get_app
from baas_auth.realm.lookups import admin_of, app_of, user_of
from baas_auth.realm.marker import set_up_realm
from baas_auth.realm.onetime import binding_of
from baas_auth.realm.refresh_families import (
    REFUSED,
    FamilyRecord,
    end_family,
    family_key,
    live_members,
    member,
    newest,
    refresh_key,
    replayed,
)
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, put
from baas_auth.realm.token_checks import verify
from baas_auth.realm.token_commands import (
    delete_token,
    get_token,
    get_transient,
    put_token,
    swap_transient,
)
from baas_auth.realm.views import fresh_view

__all__ = [
    "MAX_GRACE_MS",
    "RefreshPolicy",
    "admin_policy",
    "admin_refresh_settings",
    "app_policy",
    "is_current",
    "refresh",
    "refresh_admin",
    "set_admin_refresh_token_ttl",
    "set_refresh_token_ttl",
    "start_family",
]

MAX_GRACE_MS = 60_000
ADMIN_REFRESH_KEY = "meta:admin_refresh"
"""The realm's ``AdminRefreshRecord``: admin users' refresh tokens (absent: off)."""

_Account = rec.UserRecord | rec.AdminRecord


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """What governs a family: its life (None: no refresh tokens), its grace window, and the
    ceiling of the access tokens a refresh issues."""

    ttl_ms: int | None
    grace_ms: int
    access_ceiling_ms: int | None


# -- the settings ---------------------------------------------------------------------------


def _checked(ttl_ms: int | None, grace_ms: int) -> int | None:
    if ttl_ms is not None and (not isinstance(ttl_ms, int) or ttl_ms < 0):
        raise ConfigError("refresh_token_ttl_ms must be None or a whole number of ms >= 0")
    if not isinstance(grace_ms, int) or not 0 <= grace_ms <= MAX_GRACE_MS:
        raise ConfigError(f"grace_ms must be between 0 and {MAX_GRACE_MS}")
    return ttl_ms or None


def set_refresh_token_ttl(org: str, app: str, ttl_ms: int | None, grace_ms: int) -> Flow[App]:
    """Switch refresh tokens on for the app (``ttl_ms`` > 0: the life of a family) or off
    (None or 0); ``grace_ms`` (0 to 60 000) lets the previous token be retried that long."""
    ttl = _checked(ttl_ms, grace_ms)
    found = yield from app_of(org, app)
    found.refresh_token_ttl_ms = ttl
    found.refresh_grace_ms = grace_ms
    yield from put(record_keys.app_key(found.org, found.name), rec.encode(found))
    return (yield from get_app(found.org, found.name))


def set_admin_refresh_token_ttl(
    state: RealmState, ttl_ms: int | None, grace_ms: int
) -> Flow[RefreshSettings]:
    """As ``set_refresh_token_ttl``, for the realm's admin users (``/management/token``)."""
    ttl = _checked(ttl_ms, grace_ms)
    yield from set_up_realm(state)  # a realm-wide setting, like a key rotation
    record = rec.AdminRefreshRecord(ttl, grace_ms)
    yield from put(ADMIN_REFRESH_KEY, rec.encode(record))
    return RefreshSettings(record.refresh_token_ttl_ms, record.refresh_grace_ms)


def admin_refresh_settings() -> Flow[RefreshSettings]:
    """The realm's refresh-token setting for admin users (off when never set)."""
    raw = yield from get(ADMIN_REFRESH_KEY)
    record = rec.AdminRefreshRecord() if raw is None else rec.decode(rec.AdminRefreshRecord, raw)
    return RefreshSettings(record.refresh_token_ttl_ms, record.refresh_grace_ms)


def app_policy(state: RealmState, app: rec.AppRecord) -> RefreshPolicy:
    ceiling = (
        state.settings.max_token_ttl_ms
        if app.access_token_ttl_ms is None
        else (app.access_token_ttl_ms or None)  # accesstokenttl 0: user tokens never expire
    )
    return RefreshPolicy(app.refresh_token_ttl_ms, app.refresh_grace_ms, ceiling)


def admin_policy(state: RealmState) -> Flow[RefreshPolicy]:
    settings = yield from admin_refresh_settings()
    ceiling = state.settings.max_token_ttl_ms
    return RefreshPolicy(settings.refresh_token_ttl_ms, settings.refresh_grace_ms, ceiling)


# -- issuing ----------------------------------------------------------------------------------


def start_family(
    state: RealmState,
    policy: RefreshPolicy,
    grant: TokenGrant,
    access: VerifiedToken,
    password_hash: str,
) -> Flow[TokenGrant]:
    """``grant`` (a password grant's, of an app user or an admin user) with a refresh token,
    when ``policy`` has them on."""
    principal = grant.principal
    if not policy.ttl_ms or principal.uuid is None:
        return grant
    now = state.now_ms()
    ends_ms = now + policy.ttl_ms
    family_id = secrets.token_hex(16)
    refresh_token, refresh_id = issue_token(state.ring().current, expires_at_ms=ends_ms)
    family = FamilyRecord(
        principal.org or "",
        principal.app or "",
        principal.uuid,
        principal.username or "",
        ends_ms,
        refresh_id,
        tokens=[member(access.token_id, access.expires_at_ms), member(refresh_id, ends_ms)],
        password=binding_of(password_hash),
        kind="admin_user" if principal.kind == "admin_user" else "app_user",
    )
    stored = rec.encode(family)
    key = family_key(family_id)
    if not (yield from swap_transient(key, None, stored, expires_at_ms=family.ends_ms)):
        raise ConfigError("refresh family collision; try again")  # 128 random bits: never
    yield from _store_refresh(state, family, family_id, refresh_id, now)
    return replace(grant, refresh_token=refresh_token)


def _token_record(family: FamilyRecord, kid: str, now: int, expiry: int | None) -> rec.TokenRecord:
    """A token record of the family's account (an admin's names no org or app)."""
    org, app = family.org or None, family.app or None
    return rec.TokenRecord(family.kind, family.subject, kid, now, expiry, org, app, family.username)


def _store_refresh(
    state: RealmState, family: FamilyRecord, family_id: str, refresh_id: str, now: int
) -> Flow[None]:
    marker = _token_record(family, state.ring().current.kid, now, family.ends_ms)
    marker.refresh = True
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
    tenant = ("app_user", org.lower(), app.lower())
    refresh_id, key, raw, family = yield from _live_family(state, token, tenant)
    policy = app_policy(state, (yield from app_of(org, app)))
    return (yield from _refresh_family(state, policy, key, raw, family, refresh_id, ttl_ms))


def refresh_admin(state: RealmState, token: object, ttl_ms: int | None = None) -> Flow[TokenGrant]:
    """As ``refresh``, on ``/management/token``: only an admin user's refresh token."""
    refresh_id, key, raw, family = yield from _live_family(state, token, ("admin_user", "", ""))
    policy = yield from admin_policy(state)
    return (yield from _refresh_family(state, policy, key, raw, family, refresh_id, ttl_ms))


def _live_family(
    state: RealmState, token: object, tenant: tuple[str, str, str]
) -> Flow[tuple[str, str, bytes, FamilyRecord]]:
    """The refresh token's id and its family (key, stored bytes, record), when the family is
    of ``tenant`` (kind, org, app) and not ended; another tenant's token is left alone."""
    refresh_id, family_id = yield from _family_of(state, token)
    key = family_key(family_id)
    raw = yield from get_transient(key)
    if raw is None:
        raise InvalidGrantError(REFUSED)
    family = rec.decode(FamilyRecord, raw)
    if (family.kind, family.org, family.app) != tenant or family.ended:
        raise InvalidGrantError(REFUSED)
    return refresh_id, key, raw, family


def _refresh_family(
    state: RealmState,
    policy: RefreshPolicy,
    key: str,
    raw: bytes,
    family: FamilyRecord,
    refresh_id: str,
    ttl_ms: int | None,
) -> Flow[TokenGrant]:
    now = state.now_ms()
    if refresh_id != family.current:
        yield from replayed(key, family, refresh_id, policy.grace_ms, now)
    if (yield from get_token(refresh_id)).record is None:
        yield from _gone(key, refresh_id, policy.grace_ms, now)
    if now >= family.ends_ms or not policy.ttl_ms:
        yield from end_family(key)
        raise InvalidGrantError(REFUSED)
    account = yield from _account_now(family)
    if account is None:  # deleted, disabled, deactivated or a new password since
        yield from end_family(key)
        raise InvalidGrantError(REFUSED)
    grant = yield from _rotate(state, policy, key, raw, family, refresh_id, ttl_ms)
    return replace(grant, principal=_principal(family, account))


def _family_of(state: RealmState, token: object) -> Flow[tuple[str, str]]:
    try:
        verified = yield from verify(state, token, allow_expired=False)
    except InvalidTokenError:
        raise InvalidGrantError(REFUSED) from None
    named = yield from get_transient(refresh_key(verified.token_id))
    if named is None:  # an access token, or a refresh token of a family long over
        raise InvalidGrantError(REFUSED)
    return verified.token_id, rec.decode_text(named, "refresh family id")


def _gone(key: str, refresh_id: str, grace_ms: int, now: int) -> Flow[None]:
    """The current refresh token's record is gone: spent by a concurrent refresh since the
    family was read (then this is a replay), or removed by revoke-all, a password change,
    disabling or deleting the account (then the family ends)."""
    latest = yield from get_transient(key)
    if latest is not None:
        family = rec.decode(FamilyRecord, latest)
        if family.current != refresh_id:
            yield from replayed(key, family, refresh_id, grace_ms, now)
    yield from end_family(key)
    raise InvalidGrantError(REFUSED)


def is_current(state: RealmState, token_id: str) -> Flow[bool]:
    """Whether ``token_id`` is the current refresh token of a family that a refresh would
    still accept (not ended, within its life, its account usable with the same password)."""
    named = yield from get_transient(refresh_key(token_id))
    family_id = None if named is None else rec.decode_text(named, "refresh family id")
    raw = None if family_id is None else (yield from get_transient(family_key(family_id)))
    if raw is None:
        return False
    family = rec.decode(FamilyRecord, raw)
    if family.ended or family.current != token_id or state.now_ms() >= family.ends_ms:
        return False
    return (yield from _account_now(family)) is not None


def _account_now(family: FamilyRecord) -> Flow[_Account | None]:
    """The family's account as it is now, if a refresh may still serve it: not deleted,
    disabled or deactivated (an admin: nor unconfirmed), with the password of the grant."""
    account: _Account
    try:
        if family.kind == "admin_user":
            account = yield from admin_of(family.subject)
        else:
            account = yield from user_of(
                (yield from app_of(family.org, family.app)), family.subject
            )
    except NotFoundError:
        return None
    confirmed = not isinstance(account, rec.AdminRecord) or account.confirmed
    usable = account.uuid == family.subject and account.activated and not account.disabled
    if usable and confirmed and binding_of(account.password_hash) == family.password:
        return account
    return None


def _principal(family: FamilyRecord, account: _Account) -> Principal:
    """Whom a refreshed token stands for, as now (an admin's orgs of now)."""
    if isinstance(account, rec.AdminRecord):
        orgs = frozenset(account.orgs)
        return Principal(kind="admin_user", uuid=account.uuid, username=account.username, orgs=orgs)
    return Principal(
        kind="app_user",
        org=family.org,
        app=family.app,
        uuid=account.uuid,
        username=account.username,
    )


def _rotate(
    state: RealmState,
    policy: RefreshPolicy,
    key: str,
    raw: bytes,
    family: FamilyRecord,
    spent_id: str,
    ttl_ms: int | None,
) -> Flow[TokenGrant]:
    yield from fresh_view(state)  # keys rotated or retired since: reloaded
    now = state.now_ms()
    ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=policy.access_ceiling_ms)
    signing = state.ring().current
    access, access_id = issue_token(signing, expires_at_ms=expires_at(now, ttl))
    refresh_token, refresh_id = issue_token(signing, expires_at_ms=family.ends_ms)
    # Once the spent refresh token is dropped, every live entry is an access token.
    issued = member(access_id, expires_at(now, ttl))
    kept, older = newest([*live_members(family.tokens, now, spent_id), issued])
    rotated = replace(
        family,
        current=refresh_id,
        previous=spent_id,
        previous_spent_ms=now,
        tokens=[*kept, member(refresh_id, family.ends_ms)],
    )
    new = rec.encode(rotated)
    if not (yield from swap_transient(key, raw, new, expires_at_ms=family.ends_ms)):
        latest = yield from get_transient(key)  # a concurrent refresh won: this is a replay
        if latest is None:
            raise InvalidGrantError(REFUSED)
        yield from replayed(key, rec.decode(FamilyRecord, latest), spent_id, policy.grace_ms, now)
    for token_id in (spent_id, *older):
        yield from delete_token(token_id)
    record = _token_record(family, signing.kid, now, expires_at(now, ttl))
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
    unnamed = Principal(kind=family.kind)  # named by the caller, from the account of now
    return TokenGrant(access, expires_in_seconds(ttl), unnamed, refresh_token)
