"""The handlers every holder of rules shares (a role, a user, a group): its own rules, read,
granted and revoked; and the links between holders (a role given to a user or a group, a user
in a group), read, made and broken. Built per holder by ``baas_auth.api.roles``."""

from __future__ import annotations

from typing import Literal

from baas_auth.api.params import group_path, role_name, rules_sent, user_name
from baas_auth.api.shapes import group_entity, role_entity, user_entity
from baas_auth.api.table import ApiCall, ApiResult, Handler
from baas_auth.errors import NotFoundError
from baas_auth.model import Group, Role
from baas_auth.realm import flows
from baas_auth.realm.store_commands import Flow

__all__ = [
    "HolderKind",
    "group_entities",
    "holder_name",
    "link_handlers",
    "role_entities",
    "rule_handlers",
]

HolderKind = Literal["role", "user", "group"]
Entity = dict[str, object]


def holder_name(kind: HolderKind, call: ApiCall) -> str:
    if kind == "role":
        return role_name(call)
    if kind == "user":
        return user_name(call)
    return group_path(call)


def _where(call: ApiCall) -> tuple[str, str]:
    return call.org, call.app or ""


# -- a holder's own rules -------------------------------------------------------------------


def rule_handlers(kind: HolderKind) -> tuple[Handler, Handler, Handler]:
    """GET, POST and DELETE of ``/{holders}/{name}/permissions``."""

    def read(call: ApiCall) -> Flow[ApiResult]:
        return ApiResult(data=list((yield from _rules_of(kind, call))))

    def grant(call: ApiCall) -> Flow[ApiResult]:
        (text,) = rules_sent(call, one=True)
        target = {kind: holder_name(kind, call)}
        yield from flows.change_rules(*_where(call), text, add=True, **target)
        return ApiResult(data=[text])

    def revoke(call: ApiCall) -> Flow[ApiResult]:
        target = {kind: holder_name(kind, call)}
        removed = []
        for text in rules_sent(call, one=False):
            _, changed = yield from flows.change_rules(*_where(call), text, add=False, **target)
            if changed:
                removed.append(text)
        return ApiResult(data=removed)

    return read, grant, revoke


def _rules_of(kind: HolderKind, call: ApiCall) -> Flow[tuple[str, ...]]:
    name = holder_name(kind, call)
    if kind == "role":
        return (yield from flows.get_role(*_where(call), name)).rules
    if kind == "user":
        return (yield from flows.user_rules(*_where(call), name))
    return (yield from flows.get_group(*_where(call), name)).rules


# -- links between holders ------------------------------------------------------------------

Link = Literal["role-user", "role-group", "group-user"]


def link_handlers(link: Link, shown: HolderKind) -> tuple[Handler, Handler, Handler]:
    """GET, POST and DELETE of one link addressed from either end; the answer lists the
    ``shown`` end (the last segment of the path), as the original's answers do."""

    def read(call: ApiCall) -> Flow[ApiResult]:
        if not (yield from _linked(link, call)):
            raise NotFoundError(f"{call.request.path[:120]!r} is not linked")
        return ApiResult(entities=[(yield from _entity(shown, call))])

    def change(add: bool) -> Handler:
        def handler(call: ApiCall) -> Flow[ApiResult]:
            yield from _change(link, call, add=add)
            return ApiResult(entities=[(yield from _entity(shown, call))])

        return handler

    return read, change(True), change(False)


def _linked(link: Link, call: ApiCall) -> Flow[bool]:
    where = _where(call)
    if link == "role-user":
        held = yield from flows.user_roles(*where, user_name(call))
        return role_name(call).lower() in held
    if link == "role-group":
        group = yield from flows.get_group(*where, group_path(call))
        return role_name(call).lower() in group.roles
    paths = yield from flows.user_groups(*where, user_name(call))
    return group_path(call).lower() in (path.lower() for path in paths)


def _change(link: Link, call: ApiCall, *, add: bool) -> Flow[None]:
    where = _where(call)
    if link == "group-user":
        yield from flows.change_membership(*where, group_path(call), user_name(call), add=add)
        return
    holder = {"user": user_name(call)} if link == "role-user" else {"group": group_path(call)}
    yield from flows.change_roles(*where, role_name(call), add=add, **holder)


def _entity(kind: HolderKind, call: ApiCall) -> Flow[Entity]:
    where = _where(call)
    if kind == "user":
        return user_entity((yield from flows.get_user(*where, user_name(call))))
    if kind == "group":
        return group_entity((yield from flows.get_group(*where, group_path(call))))
    role = yield from flows.get_role(*where, role_name(call))
    return role_entity(role)


def role_entities(roles: list[Role], names: tuple[str, ...]) -> list[Entity]:
    """The entities of the roles named (a name whose role was deleted since is left out)."""
    wanted = set(names)
    return [role_entity(role) for role in sorted(roles, key=_by_name) if role.name in wanted]


def group_entities(groups: list[Group], paths: tuple[str, ...]) -> list[Entity]:
    """The entities of the groups at ``paths``, in that order (a membership of a group deleted
    since is listed by its path alone, as the realm lists it)."""
    by_path = {group.path.lower(): group for group in groups}
    return [group_entity(by_path.get(path.lower(), Group(path))) for path in paths]


def _by_name(role: Role) -> str:
    return role.name
