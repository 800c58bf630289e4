"""Who a verified identity provider token stands for in an app (behaviour §8), read only after
every check of the token has passed.

- Local control first: a cutoff is kept per username whenever the local user is disabled,
  deleted or has all its tokens revoked; a provider token issued (``iat``) at or before it is
  refused, and so is one without ``iat`` once a cutoff exists (its age cannot be known).
- A local user of that username: the token is that user's (roles, groups, rules); disabled or
  not activated is 401.
- None, and the provider provisions: the user is created (no password, the mapped roles).
- None otherwise: a visitor with the ``default`` role, the mapped roles and the app's groups
  its groups claim names (as ``/staff`` or ``staff``; names the app lacks are ignored), whose
  policy is kept in the snapshot it was authenticated in (its uuid is derived from issuer,
  subject and the roles and groups it holds).

An org-level provider signs in an existing admin user of that org, found by the email its
token names (never created); the same cutoffs, kept per admin email, refuse tokens issued
before the admin was disabled, deleted, had its tokens revoked or was given the address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import NamedTuple

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.identifiers import fold, group_path
from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwt_tokens import VerifiedClaims
from baas_auth.core.policy import user_policy
from baas_auth.errors import ConfigError, RevokedTokenError, StoreError
from baas_auth.model import Principal
from baas_auth.realm.cache import MISS, FederatedLocal, Snapshot
from baas_auth.realm.directory import new_uuid
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, get_many, put, transact
from baas_auth.realm.views import admin_record, roles_of

__all__ = [
    "VISITOR_PREFIX",
    "FederatedCaller",
    "admin_cutoff",
    "federated_admin",
    "federated_caller",
    "record_admin_cutoff",
    "record_cutoff",
]

VISITOR_PREFIX = "idp-"
"""How the uuid of a caller with no local user starts (a local user's uuid never does)."""


def record_cutoff(state: RealmState, org: str, app: str, username: str) -> Flow[None]:
    """Refuse the provider tokens of ``username`` issued until now (a directory write: every
    process decides its next request afresh)."""
    key = record_keys.federation_cutoff_key(org, app, username)
    yield from put(key, str(state.now_ms()).encode("ascii"))


def record_admin_cutoff(state: RealmState, email: str | None) -> Flow[None]:
    """Refuse the org-level provider tokens naming ``email`` issued until now (an admin
    without an address has none to refuse)."""
    for key, value in admin_cutoff(state, email).items():
        yield from put(key, value)


def admin_cutoff(state: RealmState, email: str | None) -> dict[str, bytes]:
    """``record_admin_cutoff``'s record, for a write that makes it with others at once."""
    if not email:
        return {}
    return {record_keys.admin_federation_cutoff_key(email): str(state.now_ms()).encode("ascii")}


def federated_admin(
    view: Snapshot, orgs: Iterable[str], claims: VerifiedClaims
) -> Flow[Principal]:
    """The admin user a verified org-level provider token names by its email, as an admin of
    those of ``orgs`` (the orgs whose providers verified it) it administers: a provider
    speaks for its own org only. Unknown address, an admin of none of them, disabled,
    unactivated or unconfirmed: 401."""
    yield from _check_cutoff_at(record_keys.admin_federation_cutoff_key(claims.username), claims)
    claimed = yield from get(record_keys.admin_id_key(claims.username))
    if claimed is None:
        raise RevokedTokenError()
    admin = yield from admin_record(view, rec.decode_text(claimed, "admin index entry"))
    if admin is None or admin.email is None or fold(admin.email) != fold(claims.username):
        raise RevokedTokenError()  # gone, not usable, or the name is a username: not an email
    served = frozenset(admin.orgs).intersection(orgs)
    if not served:
        raise RevokedTokenError()
    return Principal(kind="admin_user", uuid=admin.uuid, username=admin.username, orgs=served)


class FederatedCaller(NamedTuple):
    """Whom a verified token stands for, how that was found, and (for a visitor) the record
    and groups its rules come from."""

    principal: Principal
    found_as: str
    """``local user``, ``provisioned user``, ``would be provisioned`` or ``visitor``."""
    visitor: rec.UserRecord | None = None
    groups: tuple[rec.GroupRecord, ...] = ()


def federated_caller(
    state: RealmState,
    view: Snapshot,
    org: str,
    app: str,
    provider: IdentityProvider,
    claims: VerifiedClaims,
    *,
    create: bool,
) -> Flow[FederatedCaller]:
    """Whom a verified token of ``provider`` stands for in the app ``org/app``, and how that
    was found; ``create=False`` never provisions (a user the provider would provision is
    described as a visitor, with the same roles)."""
    local = yield from _local(view, org, app, claims.username)
    _check_cutoff(local.cutoff_ms, claims)
    if local.foreign:
        raise RevokedTokenError()  # the name is another user's email: never taken as theirs
    user = local.user
    found_as = "local user"
    if user is None and provider.provision:
        found_as = "provisioned user" if create else "would be provisioned"
        user = (yield from _provision(view, org, app, claims)) if create else None
    if user is None:
        return (yield from _visitor(state, view, org, app, provider, claims, found_as))
    if user.disabled or not user.activated:
        raise RevokedTokenError()
    principal = Principal(kind="app_user", org=org, app=app, uuid=user.uuid,
                          username=user.username)
    return FederatedCaller(principal, found_as)


def _local(view: Snapshot, org: str, app: str, username: str) -> Flow[FederatedLocal]:
    """The cutoff and the local user of ``username``, read once per snapshot: both are
    directory records, so any change to them starts a new snapshot (the next token of the
    same user under the same stamp is mapped without a store read)."""
    key = (org, app, fold(username))
    found = view.federated.lookup(key)
    if found is MISS:
        cutoff_key = record_keys.federation_cutoff_key(org, app, username)
        cutoff_ms = _cutoff_ms((yield from get(cutoff_key)))
        user, foreign = yield from _local_user(org, app, username)
        found = view.federated.remember(key, FederatedLocal(cutoff_ms, user, foreign))
    return found


def _cutoff_ms(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise StoreError("a stored federation cutoff is not a number") from None


def _check_cutoff(cutoff_ms: int | None, claims: VerifiedClaims) -> None:
    if cutoff_ms is None:
        return
    if claims.issued_at is None or claims.issued_at * 1000 <= cutoff_ms:
        raise RevokedTokenError()


def _check_cutoff_at(key: str, claims: VerifiedClaims) -> Flow[None]:
    _check_cutoff(_cutoff_ms((yield from get(key))), claims)


def _local_user(org: str, app: str, username: str) -> Flow[tuple[rec.UserRecord | None, bool]]:
    """The app's user of exactly that username, and whether the name is instead another
    user's email (refused, 401: never taken as theirs)."""
    claimed = yield from get(record_keys.user_id_key(org, app, username))
    if claimed is None:
        return None, False
    user_uuid = rec.decode_text(claimed, "user index entry")
    raw = yield from get(record_keys.user_key(org, app, user_uuid))
    if raw is None:
        return None, False  # deleted between the two reads: no local user
    user = rec.decode(rec.UserRecord, raw)
    if fold(user.username) != fold(username):
        return None, True
    return user, False


def _provision(
    view: Snapshot, org: str, app: str, claims: VerifiedClaims
) -> Flow[rec.UserRecord | None]:
    """Create the user on first sight; another request that created it first wins."""
    roles = yield from _existing_roles(view, org, app, claims.roles)
    user = rec.UserRecord(new_uuid(), claims.username, None, None, roles=roles)
    records = {
        record_keys.user_key(org, app, user.uuid): rec.encode(user),
        record_keys.user_id_key(org, app, user.username): user.uuid.encode("utf-8"),
    }
    if (yield from transact(create=records)):
        return user
    found, foreign = yield from _local_user(org, app, claims.username)
    if foreign:
        raise RevokedTokenError()
    return found


def _visitor(
    state: RealmState,
    view: Snapshot,
    org: str,
    app: str,
    provider: IdentityProvider,
    claims: VerifiedClaims,
    found_as: str,
) -> Flow[FederatedCaller]:
    roles = yield from _existing_roles(view, org, app, claims.roles)
    groups = yield from _existing_groups(org, app, claims.groups)
    # The rules are remembered by uuid: one per subject *and* what its token grants, so that
    # two tokens of one subject with other roles never share (nor borrow) each other's rules.
    held = "\0".join([*sorted(roles), "", *sorted(group.path.lower() for group in groups)])
    seed = f"{provider.issuer}\0{claims.subject}\0{held}"
    visitor_uuid = VISITOR_PREFIX + hashlib.sha256(seed.encode()).hexdigest()[:32]
    user = rec.UserRecord(visitor_uuid, claims.username, None, None, roles=roles,
                          groups=[group.path for group in groups])
    app_roles = yield from roles_of(view, org, app)
    try:
        policy = user_policy(user, app_roles, groups, state.rules)
    except ConfigError as error:
        raise StoreError(f"a stored rule does not parse: {error}") from error
    view.users.remember((org, app, visitor_uuid), policy)
    view.visitors.remember((org, app, visitor_uuid), user)
    principal = Principal(kind="app_user", org=org, app=app, uuid=visitor_uuid,
                          username=user.username)
    found = "visitor" if found_as == "local user" else found_as
    return FederatedCaller(principal, found, user, tuple(groups))


def _existing_groups(org: str, app: str, names: tuple[str, ...]) -> Flow[list[rec.GroupRecord]]:
    """The app's groups the claim names, as ``/staff`` or ``staff`` (others are ignored)."""
    paths: dict[str, None] = {}
    for name in names:
        try:
            paths[group_path(name if name.startswith("/") else "/" + name).lower()] = None
        except ConfigError:
            continue  # a name no group can have
    keys = [record_keys.group_key(org, app, path) for path in paths]
    rows = (yield from get_many(keys)) if keys else []
    return [rec.decode(rec.GroupRecord, raw) for raw in rows if raw]


def _existing_roles(
    view: Snapshot, org: str, app: str, names: tuple[str, ...]
) -> Flow[list[str]]:
    """The mapped role names the app has (others are ignored)."""
    app_roles = yield from roles_of(view, org, app)
    return [name for name in names if name in app_roles and name != "default"]
