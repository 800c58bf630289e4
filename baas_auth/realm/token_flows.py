"""Issuing, authenticating and revoking tokens, and password grants under attack (behaviour
§3, §6.2), as flows. The token format and TTL rules are in ``baas_auth.core.tokens``; the lock
arithmetic in ``baas_auth.core.throttle``.
"""

from __future__ import annotations

import secrets

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.hashing import keyed_digest, secret_matches
from baas_auth.core.legacy_hashes import verify_password
from baas_auth.core.throttle import Attempts
from baas_auth.core.tokens import (
    VerifiedToken,
    expires_at,
    expires_in_seconds,
    issue_token,
    resolve_ttl_ms,
)
from baas_auth.errors import (
    BadRequestError,
    ForbiddenError,
    InvalidClientError,
    InvalidGrantError,
    MalformedTokenError,
    NotFoundError,
    RevokedTokenError,
    TooManyRequestsError,
)
from baas_auth.model import Principal, TokenGrant, TokenInfo
from baas_auth.realm.cache import MISS, Snapshot
from baas_auth.realm.keys import RELOAD_INTERVAL_MS, KeyRing, UnknownKeyError, load_key_ring
from baas_auth.realm.lookups import admin_of, app_of, user_of
from baas_auth.realm.marker import check_realm
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import (
    Flow,
    GetToken,
    announce,
    delete_principal_tokens,
    delete_token,
    get_token,
    get_transient,
    listen,
    offload,
    pause,
    put,
    put_token,
    swap_transient,
)
from baas_auth.realm.views import (
    admin_record,
    client_record,
    fresh_view,
    user_policy_of,
    view_for,
)
from baas_auth.stores.protocols import TokenLookup

__all__ = [
    "account_key",
    "admin_token",
    "authenticate_client",
    "check_admin_usable",
    "check_password",
    "check_usable",
    "client_token",
    "password_token",
    "revoke_admin_tokens",
    "revoke_token",
    "revoke_user_tokens",
    "token_info",
    "user_token",
]

_TURN_STEPS = 20_000  # reads of one account's record by one grant, at most
_LOOK_AGAIN_MS = 50  # how often a waiting grant reads the record (other processes' changes)
_NO_SECRET_HASH = "0" * 64  # compared against when a client_id is unknown, to spend equal time


def _keys(state: RealmState) -> KeyRing:
    if state.keys is None:  # the drivers load the keys before any flow
        raise MalformedTokenError()
    return state.keys


# -- issuing ------------------------------------------------------------------------------


def _issue(
    state: RealmState, record: rec.TokenRecord, ttl_ms: int | None, principal: Principal
) -> Flow[TokenGrant]:
    yield from fresh_view(state)  # keys rotated, retired or corrupted since: reloaded (or 503)
    key = _keys(state).current
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
    return (yield from _issue_user(state, found, user, ttl))


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
    return (yield from _issue(state, record, ttl, principal))


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


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- passwords under attack (behaviour §6.2) ------------------------------------------------


def account_key(state: RealmState, scope: str, name: object, account_uuid: str | None) -> str:
    """Where an account's failed grants are counted: under its uuid, however it was named; an
    unknown name under a keyed hash of its folded form (so look-alike spellings share one
    count; it may be a password typed in the wrong box, and must not rest in the store as
    written)."""
    if account_uuid is not None:
        return f"throttle:{scope}:{account_uuid}"
    digest = keyed_digest(ids.fold(_text(name)), _keys(state).secret_key)
    return f"throttle:{scope}:#{digest}"


def check_password(
    state: RealmState, account: str, password: object, stored_hash: str | None
) -> Flow[None]:
    """Refuse a locked account (429), wait for a turn while the checks in flight take the
    budget, then check the password, in the same time whether the account exists or not; an
    unknown account (``stored_hash`` None) always fails."""
    ticket = yield from _take_turn(state, account)
    hasher = state.settings.password_hasher
    try:
        # An imported hash is checked under its own scheme, on the same pool as scrypt.
        matches = yield from offload(verify_password, hasher, _text(password), stored_hash)
    except Exception:
        yield from _settle(state, account, ticket, succeeded=False)
        raise
    succeeded = matches and stored_hash is not None
    yield from _settle(state, account, ticket, succeeded=succeeded)
    if not succeeded:
        raise InvalidGrantError()


def _take_turn(state: RealmState, account: str) -> Flow[str | None]:
    """Reserve a check of the account's password (its ticket; None when nothing is
    throttled), waiting for the checks in flight when they take the budget (behaviour §6.2):
    woken when a grant of this process ends one, and looking again every few tens of
    milliseconds for those of other processes."""
    throttle = state.settings.login_throttle
    if throttle is None:
        return None
    ticket = secrets.token_urlsafe(12)
    waker = yield from listen(account)  # before the first read: no announcement is missed
    for _ in range(_TURN_STEPS):
        now = state.now_ms()
        raw = yield from get_transient(account)
        turn = throttle.take_turn(Attempts.decode(raw), ticket, now)
        changed = turn.state.encode()
        keep = throttle.keep_until_ms(now)
        if changed != raw and not (
            yield from swap_transient(account, raw, changed, expires_at_ms=keep)
        ):
            continue  # another grant changed the record meanwhile: decide again
        if turn.locked_ms:
            raise TooManyRequestsError(-(-turn.locked_ms // 1000))
        if turn.check:
            return ticket
        yield from pause(waker, _LOOK_AGAIN_MS)
    # Only a record that changed this often under one grant gets here.
    raise TooManyRequestsError(1)


def _settle(state: RealmState, account: str, ticket: str | None, *, succeeded: bool) -> Flow[None]:
    """Record how the check of ``ticket`` ended, and wake the grants waiting for it."""
    throttle = state.settings.login_throttle
    if throttle is None or ticket is None:
        return
    for _ in range(_TURN_STEPS):
        now = state.now_ms()
        raw = yield from get_transient(account)
        settled = throttle.settle(Attempts.decode(raw), ticket, now, succeeded=succeeded)
        changed = settled.encode()
        keep = throttle.keep_until_ms(now)
        if changed == raw or (yield from swap_transient(account, raw, changed, expires_at_ms=keep)):
            break
    yield from announce(account)


# -- authenticating -----------------------------------------------------------------------


def authenticate_client(state: RealmState, client_id: str, secret: str) -> Flow[Principal]:
    """The principal of org or app credentials, or InvalidClientError."""
    client = None
    if ids.is_client_id(client_id):
        client = yield from client_record((yield from fresh_view(state)), client_id)
    stored = _NO_SECRET_HASH if client is None else client.secret_hash
    if not secret_matches(_text(secret), stored, _keys(state).secret_key) or client is None:
        raise InvalidClientError()
    kind: rec.TokenKind = "org_client" if client.app is None else "app_client"
    return Principal(
        kind=kind, org=client.org, app=client.app, uuid=client.client_id, username=client.client_id
    )


def verify(state: RealmState, token: object, *, allow_expired: bool) -> Flow[VerifiedToken]:
    """Format, MAC and expiry, before any store read. A key id the ring does not know makes it
    reload at most once a second, so forged key ids cannot turn into store reads."""
    if not isinstance(token, str):
        raise MalformedTokenError()
    now = state.now_ms()
    try:
        return _keys(state).verify(token, now_ms=now, allow_expired=allow_expired)
    except UnknownKeyError:
        if (
            state.settings.signing_keys is not None
            or now - state.keys_checked_ms < RELOAD_INTERVAL_MS
        ):
            raise
    yield from check_realm(state)  # a realm set up elsewhere since, or the realm lost
    if state.realm_id is not None:
        state.keys = yield from load_key_ring(None, state.keys)
    # Only a reload that succeeded counts: after a failed one (a StoreError, 503) the next
    # request tries again, rather than being refused with 401 for a key it never saw.
    state.keys_checked_ms = now
    return _keys(state).verify(token, now_ms=now, allow_expired=allow_expired)


def token_info(state: RealmState, token: object) -> Flow[TokenInfo]:
    """What a valid token stands for (MalformedTokenError, ExpiredTokenError,
    RevokedTokenError; StoreError when the store fails, never a principal).

    The steady state (a token seen before, in the current generation) is one store command
    and no nested flow: this runs on every request that carries a token."""
    keys = _keys(state)
    if isinstance(token, str) and keys.knows(token):
        verified = keys.verify(token, now_ms=state.now_ms(), allow_expired=False)
    else:
        verified = yield from verify(state, token, allow_expired=False)
    # Yielded as is, not through ask(): one generator less on every request with a token.
    lookup: TokenLookup = yield GetToken(verified.token_id)
    view = state.snapshot
    if view.generation != lookup.generation:
        view = yield from view_for(state, lookup.generation)
    if verified.kid not in _keys(state).kids:  # retired by another process since
        raise MalformedTokenError()
    if lookup.record is None:
        raise RevokedTokenError()
    info = view.tokens.lookup(verified.token_id)
    if info is MISS:  # a token record never changes: decoded once per generation
        record = rec.decode(rec.TokenRecord, lookup.record)
        loaded = yield from _token_info(state, view, record, verified.token_id)
        info = view.tokens.remember(verified.token_id, loaded)
    if info is None:
        raise RevokedTokenError()
    return info


def _token_info(
    state: RealmState, view: Snapshot, record: rec.TokenRecord, token_id: str
) -> Flow[TokenInfo | None]:
    principal = yield from _principal(state, view, record, token_id)
    if principal is None:
        return None
    return TokenInfo(principal, record.created_ms, record.expires_at_ms)


def _principal(
    state: RealmState, view: Snapshot, record: rec.TokenRecord, token_id: str
) -> Flow[Principal | None]:
    """Who the token stands for now: None once the user, admin or client is gone."""
    if record.kind == "app_user":
        org, app = record.org or "", record.app or ""
        if (yield from user_policy_of(state, view, org, app, record.subject)) is None:
            return None
        return Principal(
            kind="app_user",
            org=record.org,
            app=record.app,
            uuid=record.subject,
            username=record.username,
            token_id=token_id,
        )
    if record.kind == "admin_user":
        admin = yield from admin_record(view, record.subject)
        if admin is None:
            return None
        return Principal(
            kind="admin_user",
            uuid=admin.uuid,
            username=admin.username,
            orgs=frozenset(admin.orgs),
            token_id=token_id,
        )
    client = yield from client_record(view, record.subject)
    if client is None:
        return None
    return Principal(
        kind=record.kind,
        org=client.org,
        app=client.app,
        uuid=client.client_id,
        username=client.client_id,
        token_id=token_id,
    )


# -- revoking -----------------------------------------------------------------------------


def revoke_token(state: RealmState, token: object, owner: Principal | None) -> Flow[bool]:
    """Revoke one token of any kind (expired ones too); False if it was already gone. With
    ``owner``, the token must be that user's, else BadRequestError and nothing is revoked."""
    verified = yield from verify(state, token, allow_expired=True)
    if owner is not None:
        raw = (yield from get_token(verified.token_id)).record
        if raw is None:
            return False
        if not _owned_by(rec.decode(rec.TokenRecord, raw), owner):
            raise BadRequestError("The token does not belong to that user")
    return (yield from delete_token(verified.token_id))


def revoke_user_tokens(org: str, app: str, name: str) -> Flow[int]:
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    key = record_keys.user_principal_key(found.org, found.name, user.uuid)
    return (yield from delete_principal_tokens(key))


def revoke_admin_tokens(name: str) -> Flow[int]:
    admin = yield from admin_of(name)
    return (yield from delete_principal_tokens(record_keys.admin_principal_key(admin.uuid)))


def _owned_by(record: rec.TokenRecord, owner: Principal) -> bool:
    return (record.kind, record.subject) == (owner.kind, owner.uuid) and (
        owner.kind == "admin_user" or (record.org, record.app) == (owner.org, owner.app)
    )
