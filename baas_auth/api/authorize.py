"""Who may call a row of the management API (``Access`` in ``baas_auth.api.table``), as flows.

As the original: the app's clients and the admins of its org may do everything in the app;
anyone else is judged by the app's rules on the request's path, as for any request. Beyond
the original (``docs/decisions.md``): a write that hands out privileges (roles, rules,
memberships) needs a rule naming its exact path, without wildcards, so that ``/**`` or
``/users/me/**`` never lets a user raise itself; credentials and the token lifetime are for
clients and admins only, whatever the rules say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from baas_auth.api.table import ApiRow
from baas_auth.core.paths import rule_path
from baas_auth.core.permissions import compile_rules
from baas_auth.core.policy import ALL_ACCESS_KINDS
from baas_auth.core.rules import Rule, verb_for_method
from baas_auth.errors import AuthenticationError, ConfigError, ForbiddenError, StoreError
from baas_auth.model import Principal
from baas_auth.realm import flows
from baas_auth.realm.access_flows import allows, manages_org
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_commands import touch_token

__all__ = ["authorize"]

_WILDCARDS = frozenset("*?")


def authorize(
    state: RealmState,
    principal: Principal,
    row: ApiRow,
    org: str,
    app: str | None,
    params: Mapping[str, str],
    paths: Sequence[str],
    case_sensitive: bool,
) -> Flow[None]:
    """Return when ``principal`` may call ``row`` on one of ``paths`` of ``org``/``app``; else
    raise the refusal (401 for a guest, 403 for anyone else). ``app`` is None for an org's
    row. ``paths`` are the spellings of the one resource the row acts on (the path as sent;
    with a role or group by its name and by its uuid, ``baas_auth.api.holders``): the rules
    judge the resource, whichever way it was named."""
    management = row.area == "management"
    if row.access == "anyone":
        return
    if row.access == "self" and (yield from _is_self(principal, params, management=management)):
        return
    if management or app is None:
        if row.access != "self" and (
            yield from manages_org(state.snapshot, principal, params.get("org", org))
        ):
            return
        raise ForbiddenError("No organization access authorized")
    if principal.kind in ALL_ACCESS_KINDS and principal.covers(org, app):
        return
    if row.access in ("rules", "explicit"):
        where = (org, app)
        for path in paths:
            if (
                yield from _by_rules(state, principal, row, rule_path(path), where, case_sensitive)
            ):
                return
    _refuse(principal)


def _is_self(principal: Principal, params: Mapping[str, str], *, management: bool) -> Flow[bool]:
    """Whether the ``{user}`` segment names the caller: an admin user under ``/management``,
    an app user (of the app it was admitted to) elsewhere."""
    if principal.kind != ("admin_user" if management else "app_user"):
        return False
    return (yield from flows.is_self(principal, params.get("user", "")))


def _by_rules(
    state: RealmState,
    principal: Principal,
    row: ApiRow,
    path: str,
    where: tuple[str, str],
    case_sensitive: bool,
) -> Flow[bool]:
    """The rules allow the request (and, for an ``explicit`` row, one names it exactly)."""
    org, app = where
    method = row.method
    if not (
        yield from allows(state, state.snapshot, principal, method, path, org, app, case_sensitive)
    ):
        return False
    if row.access == "rules":
        return True
    return (yield from _explicit(state, principal, method, path, where, case_sensitive))


def _refuse(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise AuthenticationError("No application guest access authorized")
    raise ForbiddenError()


def _explicit(
    state: RealmState,
    principal: Principal,
    method: str,
    path: str,
    where: tuple[str, str],
    case_sensitive: bool,
) -> Flow[bool]:
    """Whether a rule of the caller names ``path`` exactly: no ``*``, ``**`` or ``?`` (``me``
    and ``${user}`` still stand for the caller)."""
    texts = yield from _applying(state, principal, where)
    verb = verb_for_method(method) or ""
    identity = (principal.uuid or "", principal.username or "")
    for rule in _parsed(state, texts):
        for pattern in rule.patterns if verb in rule.verbs else ():
            if _WILDCARDS.isdisjoint(pattern):
                exact = compile_rules(
                    [Rule(frozenset({verb}), (pattern,))], case_sensitive=case_sensitive
                )
                if exact.permits(verb, path, identity):
                    return True
    return False


def _applying(
    state: RealmState, principal: Principal, where: tuple[str, str]
) -> Flow[Iterable[str]]:
    """The rules that apply to the caller now: the guest role's, or the user's, without those
    of roles this token has lost to inactivity (its longest idle gap, as the gate reads it)."""
    org, app = where
    if principal.kind == "guest":
        return (yield from flows.get_role(org, app, "guest")).rules
    inactive = None
    if principal.token_id is not None:
        inactive = yield from touch_token(principal.token_id, state.now_ms())
        if inactive is None:  # revoked since it was authenticated
            return ()
    return (yield from flows.effective_rules(state, org, app, principal.uuid or "", inactive))


def _parsed(state: RealmState, texts: Iterable[str]) -> list[Rule]:
    try:
        return [state.rules.parse(text) for text in texts]
    except ConfigError as error:  # checked when granted: the store was changed behind us
        raise StoreError(f"a stored rule does not parse: {error}") from error
