"""Introspection (RFC 7662) and standard revocation (RFC 7009) as flows (behaviour §9).

Both answer for one tenant: an app (``org`` and ``app``), an org's management area (``org``
alone: its admins' and its org clients' tokens), or, from the Python API only, the whole
management area (neither). A token of any other tenant is inactive here and is left alone:
the answer never says whether it exists elsewhere, or why a token is inactive.
"""

from __future__ import annotations

from baas_auth.core import records as rec
from baas_auth.errors import InvalidTokenError, NotFoundError
from baas_auth.model import Principal, TokenInfo
from baas_auth.realm.account_directory import get_admin
from baas_auth.realm.refresh_families import end_family_of
from baas_auth.realm.refresh_flows import is_current
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_checks import token_info, verify
from baas_auth.realm.token_commands import delete_token, get_token

__all__ = ["belongs_to", "introspect", "introspect_anywhere", "revoke_for"]

_USERS = frozenset({"app_user", "admin_user"})
_CLIENTS = frozenset({"app_client", "org_client"})


def introspect(
    state: RealmState, token: object, org: str | None, app: str | None
) -> Flow[dict[str, object]]:
    """The RFC 7662 answer for ``token`` in the tenant ``org``/``app``: ``{"active": False}``
    and nothing else for a token that is malformed, unknown, expired, revoked, of a disabled or
    deleted account, or of another tenant. A failing store raises StoreError (503), never
    "inactive": a resource server must not read a store outage as a revocation."""
    org, app = _lower(org), _lower(app)
    info = yield from _active_info(state, token)
    if info is None:
        return (yield from _refresh_claims(state, token, org, app))
    if not belongs_to(info.principal, org, app):
        return {"active": False}
    return _claims(info, org, app)


def introspect_anywhere(state: RealmState, token: object) -> Flow[dict[str, object]]:
    """The answer ``introspect`` gives for ``token`` in the tenant it belongs to (an app, an
    org, or the management area for an admin's): the operator's view, for the command line."""
    tenant = yield from _tenant_of(state, token)
    if tenant is None:
        return {"active": False}
    return (yield from introspect(state, token, *tenant))


def _tenant_of(state: RealmState, token: object) -> Flow[tuple[str | None, str | None] | None]:
    """The org and app whose endpoints answer for ``token`` (None: a token of no one)."""
    found = yield from _stored(state, token, allow_expired=True)
    if found is None:
        return None
    record = found[1]
    if record.kind == "admin_user":
        return None, None
    return record.org, None if record.kind == "org_client" else record.app


def _refresh_claims(
    state: RealmState, token: object, org: str | None, app: str | None
) -> Flow[dict[str, object]]:
    """A live refresh token of this app (its record present: never spent, nor removed with
    its user's tokens): active, as a ``refresh_token``; anything else inactive."""
    found = yield from _stored(state, token, allow_expired=False)
    if found is None:
        return {"active": False}
    token_id, record = found
    if not record.refresh or not (yield from _record_belongs(record, org, app)):
        return {"active": False}
    owner = Principal(
        kind=record.kind, org=record.org, app=record.app, uuid=record.subject,
        username=record.username,
    )  # fmt: skip
    if not (yield from is_current(state, token_id)):
        return {"active": False}
    info = TokenInfo(owner, record.created_ms, record.expires_at_ms)
    return {**_claims(info, org, app), "token_type": "refresh_token"}


def _active_info(state: RealmState, token: object) -> Flow[TokenInfo | None]:
    if not isinstance(token, str) or not token:
        return None
    try:
        return (yield from token_info(state, token))
    except (InvalidTokenError, NotFoundError):  # every inactive case, told apart by no one
        return None


def belongs_to(principal: Principal, org: str | None, app: str | None) -> bool:
    """Whether a token of ``principal`` is one the tenant ``org``/``app`` answers for."""
    if org is None:
        return principal.kind in ("admin_user", "org_client")
    if app is None:
        if principal.kind == "admin_user":
            return org in principal.orgs
        return principal.kind == "org_client" and principal.org == org
    return principal.kind in ("app_user", "app_client") and (principal.org, principal.app) == (
        org,
        app,
    )


def _claims(info: TokenInfo, org: str | None, app: str | None) -> dict[str, object]:
    principal = info.principal
    body: dict[str, object] = {"active": True, "token_type": "Bearer", "sub": principal.uuid}
    if principal.kind in _USERS and principal.username:
        body["username"] = principal.username
    if principal.kind in _CLIENTS:
        body["client_id"] = principal.uuid
    if info.expires_at_ms is not None:
        body["exp"] = info.expires_at_ms // 1000
    body["iat"] = info.issued_at_ms // 1000
    issuer = _issuer(principal, org, app)
    if issuer is not None:
        body["iss"] = issuer
    body["baas_auth"] = {"kind": principal.kind}
    return body


def _issuer(principal: Principal, org: str | None, app: str | None) -> str | None:
    if org is not None:
        return org if app is None else f"{org}/{app}"
    return principal.org  # an org client's org; an admin belongs to no single org


def revoke_for(state: RealmState, token: object, org: str | None, app: str | None) -> Flow[bool]:
    """RFC 7009: revoke ``token`` if it is one of the tenant ``org``/``app`` (expired ones
    too); anything else (malformed, unknown, another tenant's) is left alone. True when a
    token was revoked; the endpoint answers 200 either way."""
    org, app = _lower(org), _lower(app)
    found = yield from _stored(state, token, allow_expired=True)
    if found is None:
        return False
    token_id, record = found
    if not (yield from _record_belongs(record, org, app)):
        return False
    if record.refresh:  # a refresh token goes with its whole family (behaviour §9)
        yield from end_family_of(state, token_id)
    return (yield from delete_token(token_id))


def _stored(
    state: RealmState, token: object, *, allow_expired: bool
) -> Flow[tuple[str, rec.TokenRecord] | None]:
    """The id and stored record of ``token`` when it verifies and is still stored."""
    if not isinstance(token, str) or not token:
        return None
    try:
        verified = yield from verify(state, token, allow_expired=allow_expired)
    except InvalidTokenError:
        return None
    raw = (yield from get_token(verified.token_id)).record
    if raw is None:
        return None
    return verified.token_id, rec.decode(rec.TokenRecord, raw)


def _record_belongs(record: rec.TokenRecord, org: str | None, app: str | None) -> Flow[bool]:
    """As ``belongs_to``, from the stored record: an account disabled since still has its
    tenant (a token of a disabled admin of another org stays untouched)."""
    orgs: frozenset[str] = frozenset()
    if record.kind == "admin_user" and org is not None and app is None:
        try:
            orgs = frozenset((yield from get_admin(record.subject)).orgs)
        except NotFoundError:
            return False
    owner = Principal(kind=record.kind, org=record.org, app=record.app, orgs=orgs)
    return belongs_to(owner, org, app)


def _lower(name: str | None) -> str | None:
    return None if name is None else name.lower()
