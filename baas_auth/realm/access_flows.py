"""Deciding what a principal may do (behaviour §5.3, §6.1), as flows over the snapshot."""

from __future__ import annotations

from baas_auth.core.paths import check_route_path, rule_path
from baas_auth.core.permissions import verb_for_method
from baas_auth.core.policy import ALL_ACCESS_KINDS
from baas_auth.errors import AuthenticationError, NotFoundError
from baas_auth.model import Principal
from baas_auth.realm.addressing import resolve_prefix
from baas_auth.realm.cache import MISS, Snapshot
from baas_auth.realm.lookups import admin_of, app_of, user_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_commands import touch_token
from baas_auth.realm.views import (
    app_record,
    fresh_view,
    guest_matcher,
    org_record,
    user_policy_of,
)

__all__ = ["allows", "guest", "is_self", "manages_org", "permits"]



def guest(state: RealmState, org: str, app: str) -> Flow[Principal]:
    """The anonymous principal of an application (check it with ``permits``)."""
    view = yield from fresh_view(state)
    found = yield from app_record(view, org.lower(), app.lower())
    if found is None:
        raise AuthenticationError(f"No application {org.lower()}/{app.lower()}")
    return Principal(kind="guest", org=found.org, app=found.name)


def permits(
    state: RealmState,
    principal: Principal,
    method: str,
    path: str,
    org: str,
    app: str,
    case_sensitive: bool,
) -> Flow[bool]:
    """``allows`` for any caller: checks ``path`` (BadRequestError if it is not a canonical
    route path) and reads the current generation first. ``org`` and ``app`` may be uuids, as
    in a ``/{org-uuid}/{app-uuid}/…`` prefix (the framework helpers pass the prefix on)."""
    check_route_path(path, allow_trailing_slash=True)
    view = yield from fresh_view(state)
    org, app = yield from resolve_prefix(view, org.lower(), app.lower())
    verdict = yield from allows(
        state, view, principal, method, rule_path(path), org, app, case_sensitive
    )
    return verdict


def allows(
    state: RealmState,
    view: Snapshot,
    principal: Principal,
    method: str,
    path: str,
    org: str,
    app: str,
    case_sensitive: bool,
) -> Flow[bool]:
    """Whether ``principal`` may send ``method`` to the checked ``path`` of ``org/app`` (lower
    case), judged on ``view`` (the generation the principal was authenticated in)."""
    verb = verb_for_method(method)
    if verb is None or not principal.covers(org, app):
        return False
    if principal.kind in ALL_ACCESS_KINDS:
        return True
    if principal.kind == "guest":
        matcher = yield from guest_matcher(state, view, org, app, case_sensitive)
        return matcher is not None and matcher.permits(verb, path)
    policy = view.users.lookup((org, app, principal.uuid or ""))
    if policy is MISS:
        policy = yield from user_policy_of(state, view, org, app, principal.uuid or "")
    if policy is None:
        return False
    inactive = None
    if policy.has_timed_roles and principal.token_id is not None:
        inactive = yield from touch_token(principal.token_id, state.now_ms())
        if inactive is None:  # revoked since it was authenticated
            return False
    matcher = policy.matcher(inactive, case_sensitive=case_sensitive)
    return matcher.permits(verb, path, (principal.uuid or "", principal.username or ""))


def manages_org(view: Snapshot, principal: Principal, org: str) -> Flow[bool]:
    """Whether ``principal`` is an admin user or org client of the organization named ``org``
    (its name or uuid, ignoring case)."""
    if principal.kind == "admin_user":
        names: frozenset[str] = principal.orgs
    elif principal.kind == "org_client" and principal.org is not None:
        names = frozenset({principal.org})
    else:
        return False
    wanted = org.lower()
    if wanted in names:
        return True
    for name in sorted(names):
        found = yield from org_record(view, name)
        if found is not None and found.uuid == wanted:
            return True
    return False


def is_self(principal: Principal, name: str) -> Flow[bool]:
    """Whether ``name`` (``me``, a username, an email or a uuid) names the app user or admin
    user ``principal``: exactly one account has each of those (behaviour §1)."""
    if principal.kind not in ("app_user", "admin_user") or principal.uuid is None:
        return False
    lowered = name.lower()
    if lowered in ("me", principal.uuid, (principal.username or "").lower()):
        return True
    try:
        if principal.kind == "admin_user":
            return (yield from admin_of(name)).uuid == principal.uuid
        found = yield from app_of(principal.org or "", principal.app or "")
        return (yield from user_of(found, name)).uuid == principal.uuid
    except NotFoundError:
        return False
