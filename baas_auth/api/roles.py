"""Roles, their rules and who holds them, over HTTP (rows of the management API): the
original system's ``/roles``, ``/roles/{role}[/permissions|/users[/{user}]|/groups[/{group}]]``,
``/users/{user}/roles[/{role}]|/permissions|/groups`` and
``/groups/{group+}/roles[/{role}]|/permissions|/users[/{user}]``.

Reads are judged by the app's rules; every write hands out privileges, so it is ``explicit``
(``baas_auth.api.authorize``)."""

from __future__ import annotations

from baas_auth.api.links import (
    group_entities,
    holder_name,
    link_handlers,
    role_entities,
    rule_handlers,
)
from baas_auth.api.params import role_name, text_arg, user_name, whole_number
from baas_auth.api.shapes import group_entity, role_entity, user_entity
from baas_auth.api.table import ApiCall, ApiResult, ApiRow, Handler
from baas_auth.realm import flows
from baas_auth.realm.store_commands import Flow

__all__ = ["ROWS"]


def _where(call: ApiCall) -> tuple[str, str]:
    return call.org, call.app or ""


# -- /roles -----------------------------------------------------------------------------------


def list_roles(call: ApiCall) -> Flow[ApiResult]:
    roles = yield from flows.list_roles(*_where(call))
    return ApiResult(entities=role_entities(roles, tuple(role.name for role in roles)))


def create_role(call: ApiCall) -> Flow[ApiResult]:
    """POST /roles with ``name`` (or the original's ``roleName``) and ``inactivity`` (ms)."""
    name = text_arg(call, "name", required=False) or text_arg(call, "roleName")
    inactivity = call.arg("inactivity")
    ms = 0 if inactivity is None else whole_number(inactivity, "inactivity")
    role = yield from flows.create_role(*_where(call), name or "", ms)
    return ApiResult(entities=[role_entity(role)])


def get_role(call: ApiCall) -> Flow[ApiResult]:
    return ApiResult(
        entities=[role_entity((yield from flows.get_role(*_where(call), role_name(call))))]
    )


def delete_role(call: ApiCall) -> Flow[ApiResult]:
    role = yield from flows.get_role(*_where(call), role_name(call))
    yield from flows.delete_role(*_where(call), role.name)
    return ApiResult(entities=[role_entity(role)])


def users_of_role(call: ApiCall) -> Flow[ApiResult]:
    users = yield from flows.role_users(*_where(call), role_name(call))
    return ApiResult(entities=[user_entity(user) for user in users])


def groups_of_role(call: ApiCall) -> Flow[ApiResult]:
    groups = yield from flows.role_groups(*_where(call), role_name(call))
    return ApiResult(entities=[group_entity(group) for group in groups])


# -- /users/{user} and /groups/{group} ---------------------------------------------------------


def roles_of_user(call: ApiCall) -> Flow[ApiResult]:
    names = yield from flows.user_roles(*_where(call), user_name(call))
    roles = yield from flows.list_roles(*_where(call))
    return ApiResult(entities=role_entities(roles, names))


def groups_of_user(call: ApiCall) -> Flow[ApiResult]:
    paths = yield from flows.user_groups(*_where(call), user_name(call))
    groups = yield from flows.list_groups(*_where(call))
    return ApiResult(entities=group_entities(groups, paths))


def roles_of_group(call: ApiCall) -> Flow[ApiResult]:
    group = yield from flows.get_group(*_where(call), holder_name("group", call))
    roles = yield from flows.list_roles(*_where(call))
    return ApiResult(entities=role_entities(roles, group.roles))


def users_of_group(call: ApiCall) -> Flow[ApiResult]:
    users = yield from flows.group_users(*_where(call), holder_name("group", call))
    return ApiResult(entities=[user_entity(user) for user in users])


def _rows(pattern: str, handlers: tuple[Handler, Handler, Handler]) -> tuple[ApiRow, ...]:
    """GET (by the rules), POST and DELETE (explicit) of one path."""
    read, add, remove = handlers
    return (
        ApiRow("GET", pattern, read),
        ApiRow("POST", pattern, add, access="explicit"),
        ApiRow("DELETE", pattern, remove, access="explicit"),
    )


ROWS: tuple[ApiRow, ...] = (
    ApiRow("GET", "/roles", list_roles),
    ApiRow("POST", "/roles", create_role, access="explicit"),
    ApiRow("GET", "/roles/{role}", get_role),
    ApiRow("DELETE", "/roles/{role}", delete_role, access="explicit"),
    *_rows("/roles/{role}/permissions", rule_handlers("role")),
    ApiRow("GET", "/roles/{role}/users", users_of_role),
    *_rows("/roles/{role}/users/{user}", link_handlers("role-user", "user")),
    ApiRow("GET", "/roles/{role}/groups", groups_of_role),
    *_rows("/roles/{role}/groups/{group+}", link_handlers("role-group", "group")),
    ApiRow("GET", "/users/{user}/roles", roles_of_user),
    *_rows("/users/{user}/roles/{role}", link_handlers("role-user", "role")),
    *_rows("/users/{user}/permissions", rule_handlers("user")),
    ApiRow("GET", "/users/{user}/groups", groups_of_user),
    ApiRow("GET", "/groups/{group+}/roles", roles_of_group),
    *_rows("/groups/{group+}/roles/{role}", link_handlers("role-group", "role")),
    *_rows("/groups/{group+}/permissions", rule_handlers("group")),
    ApiRow("GET", "/groups/{group+}/users", users_of_group),
    *_rows("/groups/{group+}/users/{user}", link_handlers("group-user", "user")),
)
