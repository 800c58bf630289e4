"""Issuing, authenticating and revoking tokens, and password grants under attack (behaviour
§3, §6.2), as flows. The token format and TTL rules are in ``baas_auth.core.tokens``; the lock
arithmetic in ``baas_auth.core.throttle``.
"""

from __future__ import annotations

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.tokens import (
    expires_at,
    expires_in_seconds,
    issue_token,
    resolve_ttl_ms,
)
from baas_auth.errors import (
    ForbiddenError,
    InvalidClientError,
    InvalidGrantError,
    NotFoundError,
)
from baas_auth.model import Principal, TokenGrant
from baas_auth.realm import refresh_flows
from baas_auth.realm.lookups import admin_of, app_of, user_of
from baas_auth.realm.password_checks import account_key, check_password
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, offload, put
from baas_auth.realm.token_checks import authenticate_client
from baas_auth.realm.token_commands import put_token
from baas_auth.realm.views import (
    fresh_view,
)

__all__ = [
    "admin_token",
    "check_admin_usable",
    "check_usable",
    "client_token",
    "password_token",
    "user_token",
]


# -- issuing ------------------------------------------------------------------------------


def _issue(
    state: RealmState, record: rec.TokenRecord, ttl_ms: int | None, principal: Principal
) -> Flow[TokenGrant]:
    yield from fresh_view(state)  # keys rotated, retired or corrupted since: reloaded (or 503)
    key = state.ring().current
    record.kid = key.kid
    record.created_ms = state.now_ms()
    record.expires_at_ms = expires_at(record.created_ms, ttl_ms)
    token, token_id = issue_token(key, expires_at_ms=record.expires_at_ms)
    yield from put_token(
        token_id,
        record_keys.principal_key(record),
        rec.encode(record),
        created_ms=record.created_ms,
        expires_at_ms=record.expires_at_ms,
    )
    return TokenGrant(token, expires_in_seconds(ttl_ms), principal)


def _app_ceiling(state: RealmState, app: rec.AppRecord) -> int | None:
    if app.access_token_ttl_ms is None:
        return state.settings.max_token_ttl_ms
    return app.access_token_ttl_ms or None  # accesstokenttl 0: user tokens never expire


def password_token(
    state: RealmState, org: str, app: str, name: str, password: str, ttl_ms: int | None
) -> Flow[TokenGrant]:
    found = yield from app_of(org, app)
    ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=_app_ceiling(state, found))
    try:
        user: rec.UserRecord | None = yield from user_of(found, name)
    except NotFoundError:
        user = None
    user_uuid, stored = (None, None) if user is None else (user.uuid, user.password_hash)
    account = account_key(state, f"{found.org}/{found.name}", name, user_uuid)
    yield from check_password(state, account, password, stored)
    if user is None:  # never: _check_password refuses an unknown account
        raise InvalidGrantError()
    check_usable(user.activated, user.disabled)
    key = record_keys.user_key(found.org, found.name, user.uuid)
    yield from _rehash_if_needed(state, key, user, password)
    grant = yield from _issue_user(state, found, user, ttl)
    policy = refresh_flows.app_policy(state, found)
    return (yield from _with_refresh(state, policy, grant, user.password_hash))


def _with_refresh(
    state: RealmState,
    policy: refresh_flows.RefreshPolicy,
    grant: TokenGrant,
    password_hash: str | None,  # as stored now, after any rehash
) -> Flow[TokenGrant]:
    """``grant`` with a refresh token starting a family, when ``policy`` has them on."""
    if not policy.ttl_ms:
        return grant
    access = state.ring().verify(grant.access_token, now_ms=0, allow_expired=True)
    return (
        yield from refresh_flows.start_family(state, policy, grant, access, password_hash or "")
    )


def user_token(
    state: RealmState, org: str, app: str, name: str, ttl_ms: int | None
) -> Flow[TokenGrant]:
    """A token for an app user minted on the server, without its password (social login,
    SSO): the password grant's TTL rules, and no token for a disabled or unactivated user."""
    found = yield from app_of(org, app)
    ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=_app_ceiling(state, found))
    user = yield from user_of(found, name)
    check_usable(user.activated, user.disabled)
    return (yield from _issue_user(state, found, user, ttl))


def _issue_user(
    state: RealmState, app: rec.AppRecord, user: rec.UserRecord, ttl: int | None
) -> Flow[TokenGrant]:
    principal = Principal(
        kind="app_user", org=app.org, app=app.name, uuid=user.uuid, username=user.username
    )
    record = rec.TokenRecord("app_user", user.uuid, "", 0, None, app.org, app.name, user.username)
    return (yield from _issue(state, record, ttl, principal))


def admin_token(
    state: RealmState, name: str, password: str, ttl_ms: int | None
) -> Flow[TokenGrant]:
    ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=state.settings.max_token_ttl_ms)
    try:
        admin: rec.AdminRecord | None = yield from admin_of(name)
    except NotFoundError:
        admin = None
    admin_uuid, stored = (None, None) if admin is None else (admin.uuid, admin.password_hash)
    account = account_key(state, "admin", name, admin_uuid)
    yield from check_password(state, account, password, stored)
    if admin is None:  # never: _check_password refuses an unknown account
        raise InvalidGrantError()
    check_admin_usable(admin)
    yield from _rehash_if_needed(state, record_keys.admin_key(admin.uuid), admin, password)
    principal = Principal(
        kind="admin_user", uuid=admin.uuid, username=admin.username, orgs=frozenset(admin.orgs)
    )
    record = rec.TokenRecord("admin_user", admin.uuid, "", 0, None, username=admin.username)
    grant = yield from _issue(state, record, ttl, principal)
    policy = yield from refresh_flows.admin_policy(state)
    return (yield from _with_refresh(state, policy, grant, admin.password_hash))


def client_token(
    state: RealmState,
    client_id: str,
    client_secret: str,
    ttl_ms: int | None,
    for_app: tuple[str, str] | None,
) -> Flow[TokenGrant]:
    """A client token; with ``for_app``, credentials that do not cover that app are refused
    (the token endpoint of one app does not serve another's clients)."""
    ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=state.settings.max_token_ttl_ms)
    principal = yield from authenticate_client(state, client_id, client_secret)
    if for_app is not None and not principal.covers(for_app[0].lower(), for_app[1].lower()):
        raise InvalidClientError()
    kind: rec.TokenKind = "org_client" if principal.app is None else "app_client"
    record = rec.TokenRecord(kind, client_id, "", 0, None, principal.org, principal.app)
    return (yield from _issue(state, record, ttl, principal))


def _rehash_if_needed(
    state: RealmState, key: str, record: rec.UserRecord | rec.AdminRecord, password: str
) -> Flow[None]:
    """After a successful login, store the password again under the current scrypt cost
    when its hash was made with another one (hashes carry their parameters), or under
    another scheme (an imported md5, sha-1 or bcrypt hash: gone at the first login)."""
    hasher = state.settings.password_hasher
    if record.password_hash and hasher.needs_rehash(record.password_hash):
        record.password_hash = yield from offload(hasher.hash, password)
        yield from put(key, rec.encode(record))


def check_admin_usable(admin: rec.AdminRecord) -> None:
    """As the original: an unconfirmed admin is refused first, and with 403."""
    if not admin.confirmed:
        raise ForbiddenError(
            "User must be confirmed to authenticate", error="invalid_grant", challenge_error=None
        )
    check_usable(admin.activated, admin.disabled)


def check_usable(activated: bool, disabled: bool) -> None:
    if disabled:
        raise InvalidGrantError("user disabled")
    if not activated:
        raise InvalidGrantError("user not activated")


# -- passwords under attack (behaviour §6.2) ------------------------------------------------


# -- authenticating -----------------------------------------------------------------------


# -- revoking -----------------------------------------------------------------------------
