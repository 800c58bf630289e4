"""What an authenticated request may do: ``/management`` by behaviour §6.1, an application's
paths by its rules (behaviour §5), and why an admission was allowed, for its event.

A refusal for want of a rule (an authenticated caller of its own application, a method the
rules know, and no rule allowing it) is a ``NoRuleAllows``: the one refusal a route guard of the
wrapped framework may take over (``GuardCall``); every other stays as it is."""

from __future__ import annotations

from baas_auth.core.paths import rule_path, split_segments
from baas_auth.core.policy import ALL_ACCESS_KINDS
from baas_auth.core.routing import Route
from baas_auth.core.rules import verb_for_method
from baas_auth.errors import AuthenticationError, ForbiddenError
from baas_auth.model import Principal
from baas_auth.realm import flows
from baas_auth.realm.access_flows import allows, manages_org
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow

__all__ = ["NoRuleAllows", "allow_reason", "authorize"]

_ORG_AREAS = frozenset({"orgs", "organizations"})


class NoRuleAllows(ForbiddenError):
    """403: an authenticated caller of the addressed application, and no rule of its roles
    allows the method on the path. Answered as every ``ForbiddenError``."""


def authorize(
    state: RealmState, principal: Principal, method: str, route: Route, case_sensitive: bool
) -> Flow[None]:
    """Return when ``principal`` may send ``method`` to ``route``; else raise the refusal."""
    if route.org is None or route.app is None:
        if not (yield from _may_manage(state, principal, split_segments(rule_path(route.path)))):
            raise ForbiddenError("No access to this management resource")
        return
    allowed = yield from allows(
        state,
        state.snapshot,
        principal,
        method,
        rule_path(route.path),
        route.org,
        route.app,
        case_sensitive,
    )
    if allowed:
        return
    if not principal.is_authenticated:
        raise AuthenticationError("No application guest access authorized")
    if verb_for_method(method) is not None and principal.covers(route.org, route.app):
        raise NoRuleAllows()
    raise ForbiddenError()


def _may_manage(state: RealmState, principal: Principal, segments: list[str]) -> Flow[bool]:
    """``/management/orgs/{org}[/…]`` for that org's admins and clients,
    ``/management/users/{admin}[/…]`` for that admin itself, ``/management/orgs`` for any
    admin user; everything else under ``/management`` for nobody."""
    if not segments:
        return False
    area = segments[0].casefold()
    if area in _ORG_AREAS:
        if len(segments) == 1:
            return principal.kind == "admin_user"
        return (yield from manages_org(state.snapshot, principal, segments[1]))
    if area == "users" and len(segments) > 1:
        if principal.kind != "admin_user":
            return False
        return (yield from flows.is_self(principal, segments[1]))
    return False


def allow_reason(principal: Principal, route: Route) -> str:
    """Why an admitted request was allowed, as far as the decision knows without explaining
    it (``Realm.explain`` names the very rule)."""
    if route.org is None or route.app is None:
        return "management"
    return "all-access" if principal.kind in ALL_ACCESS_KINDS else "rule"
