"""Roles, their rules and their holders over HTTP (rows of the management API): the original
system's ``/roles``, ``/roles/{role}/…``, ``/users/{user}/roles|permissions|groups`` and
``/groups/{group}/…`` paths."""

from __future__ import annotations

from baas_auth.api.shapes import role_entity
from baas_auth.api.table import ApiCall, ApiResult, ApiRow
from baas_auth.realm import flows
from baas_auth.realm.commands import Flow

__all__ = ["ROWS"]


def _app(call: ApiCall) -> tuple[str, str]:
    return call.org, call.app or ""


def list_roles(call: ApiCall) -> Flow[ApiResult]:
    roles = yield from flows.list_roles(*_app(call))
    return ApiResult(entities=[role_entity(role) for role in sorted(roles, key=_name)])


def _name(role: object) -> str:
    return str(getattr(role, "name", ""))


ROWS: tuple[ApiRow, ...] = (ApiRow("GET", "/roles", list_roles),)
