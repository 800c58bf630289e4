"""The management API's answers in the original system's JSON shape (Usergrid's ApiResponse):
``action``, ``application``, ``params``, ``path``, ``uri``, ``entities``/``data``,
``timestamp``, ``duration``, ``organization``, ``applicationName``, ``count``; and the
entities it lists. Does no I/O.
"""

from __future__ import annotations

from baas_auth.api.table import ApiResult
from baas_auth.core.credential_names import SECRET_PARAMS, URI_SECRET_PARAMS
from baas_auth.core.credentials import parse_query
from baas_auth.core.http import Response
from baas_auth.core.responses import json_response
from baas_auth.model import App, Group, Role, User

__all__ = ["api_response", "group_entity", "role_entity", "user_entity"]

# Usergrid never echoes these in ``params`` (USERGRID-572); nor does this library.
_HIDDEN_PARAMS = SECRET_PARAMS | URI_SECRET_PARAMS


def api_response(
    result: ApiResult,
    *,
    action: str,
    org: str,
    app: App | None,
    path: str,
    query_string: bytes,
    now_ms: int,
    management: bool = False,
) -> Response:
    """The complete answer of one management API call (never cached: ``no-store``)."""
    body: dict[str, object] = {"action": action}
    if app is not None:
        body["application"] = app.uuid
    body["params"] = _params(query_string)
    body["path"] = path
    body["uri"] = f"/management{path}" if management else _uri(org, app, path)
    if result.entities is not None:
        body["entities"] = result.entities
        body["count"] = len(result.entities)
    if result.data is not None:
        body["data"] = result.data
    body.update(result.fields)
    body["timestamp"] = now_ms
    body["duration"] = 0
    if org:  # a management row may name no organization
        body["organization"] = org
    if app is not None:
        body["applicationName"] = app.name
    return json_response(result.status, body)


def _params(query_string: bytes) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in parse_query(query_string):
        if name not in _HIDDEN_PARAMS:
            params.setdefault(name, []).append(value)
    return params


def _uri(org: str, app: App | None, path: str) -> str:
    """The resource's path from the root of the API (the host is the caller's to know)."""
    name = "" if app is None else app.name
    return f"/{org}/{name}{path}".rstrip("/") or "/"


def role_entity(role: Role) -> dict[str, object]:
    return {
        "uuid": role.uuid,
        "type": "role",
        "name": role.name,
        "roleName": role.name,
        "title": role.name,
        "inactivity": role.inactivity_ms,
        "metadata": {"path": f"/roles/{role.name}"},
    }


def user_entity(user: User) -> dict[str, object]:
    """A user as the management API lists it: never a password hash."""
    return {
        "uuid": user.uuid,
        "type": "user",
        "name": user.username,
        "username": user.username,
        "email": user.email,
        "activated": user.activated,
        "disabled": user.disabled,
        "metadata": {"path": f"/users/{user.uuid}"},
    }


def group_entity(group: Group) -> dict[str, object]:
    return {
        "uuid": group.uuid,
        "type": "group",
        "path": group.path,
        "name": group.path.lstrip("/"),
        "title": group.path.lstrip("/"),
        "metadata": {"path": f"/groups{group.path}"},
    }
