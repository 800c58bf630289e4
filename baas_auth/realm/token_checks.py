"""Reading tokens back, as flows: authenticating a token or a client's secret, describing a token
(``token_info``), and revoking one token or all of an account's (behaviour §3).
"""

from __future__ import annotations

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.hashing import secret_matches
from baas_auth.core.tokens import (
    VerifiedToken,
)
from baas_auth.errors import (
    BadRequestError,
    InvalidClientError,
    MalformedTokenError,
    RevokedTokenError,
)
from baas_auth.model import Principal, TokenInfo
from baas_auth.realm.cache import MISS, Snapshot
from baas_auth.realm.federated_users import record_admin_cutoff, record_cutoff
from baas_auth.realm.keys import RELOAD_INTERVAL_MS, UnknownKeyError, load_key_ring
from baas_auth.realm.lookups import admin_of, app_of, user_of
from baas_auth.realm.marker import check_realm
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_commands import (
    GetToken,
    delete_principal_tokens,
    delete_token,
    get_token,
)
from baas_auth.realm.views import (
    admin_record,
    client_record,
    fresh_view,
    user_policy_of,
    view_for,
)
from baas_auth.stores.protocols import TokenLookup

_NO_SECRET_HASH = "0" * 64  # compared against when a client_id is unknown, to spend equal time

__all__ = [
    "authenticate_client",
    "revoke_admin_tokens",
    "revoke_token",
    "revoke_user_tokens",
    "token_info",
    "verify",
]


def authenticate_client(state: RealmState, client_id: str, secret: str) -> Flow[Principal]:
    """The principal of org or app credentials, or InvalidClientError."""
    client = None
    if ids.is_client_id(client_id):
        client = yield from client_record((yield from fresh_view(state)), client_id)
    stored = _NO_SECRET_HASH if client is None else client.secret_hash
    given = ids.text_or_empty(secret)
    if not secret_matches(given, stored, state.ring().secret_key) or client is None:
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
        return state.ring().verify(token, now_ms=now, allow_expired=allow_expired)
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
    return state.ring().verify(token, now_ms=now, allow_expired=allow_expired)


def token_info(state: RealmState, token: object) -> Flow[TokenInfo]:
    """What a valid token stands for (MalformedTokenError, ExpiredTokenError,
    RevokedTokenError; StoreError when the store fails, never a principal).

    The steady state (a token seen before, in the current generation) is one store command
    and no nested flow: this runs on every request that carries a token."""
    keys = state.ring()
    if isinstance(token, str) and keys.knows(token):
        verified = keys.verify(token, now_ms=state.now_ms(), allow_expired=False)
    else:
        verified = yield from verify(state, token, allow_expired=False)
    # Yielded as is, not through ask(): one generator less on every request with a token.
    lookup: TokenLookup = yield GetToken(verified.token_id)
    view = state.snapshot
    if view.generation != lookup.generation:
        view = yield from view_for(state, lookup.generation)
    if verified.kid not in state.ring().kids:  # retired by another process since
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
    if record.refresh:  # a refresh token is never a Bearer credential (behaviour §9)
        return None
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


def revoke_user_tokens(state: RealmState, org: str, app: str, name: str) -> Flow[int]:
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    key = record_keys.user_principal_key(found.org, found.name, user.uuid)
    yield from record_cutoff(state, found.org, found.name, user.username)
    return (yield from delete_principal_tokens(key))


def revoke_admin_tokens(state: RealmState, name: str) -> Flow[int]:
    admin = yield from admin_of(name)
    yield from record_admin_cutoff(state, admin.email)
    return (yield from delete_principal_tokens(record_keys.admin_principal_key(admin.uuid)))


def _owned_by(record: rec.TokenRecord, owner: Principal) -> bool:
    return (record.kind, record.subject) == (owner.kind, owner.uuid) and (
        owner.kind == "admin_user" or (record.org, record.app) == (owner.org, owner.app)
    )
