"""The admin lifecycle over HTTP (rows of the management API): the original system's
``GET /users?limit=&cursor=`` of an app (a page of its users), ``DELETE /management/orgs/{org}``,
``DELETE /management/orgs/{org}/apps/{app}``, and ``PUT`` / ``DELETE /management/users/{user}``
(an admin user's email; the admin user itself)."""

from __future__ import annotations

from baas_auth.api.params import text_arg
from baas_auth.api.shapes import user_entity
from baas_auth.api.table import ApiCall, ApiResult, ApiRow
from baas_auth.errors import IllegalArgumentError
from baas_auth.realm import lifecycle_flows
from baas_auth.realm.account_directory import get_admin
from baas_auth.realm.store_commands import Flow

__all__ = ["ROWS"]


def list_users(call: ApiCall) -> Flow[ApiResult]:
    """A page of the app's users: ``limit`` (1 to 1000, 10 by default as the original's),
    ``cursor`` from the previous page, ``prefix`` of a username or email, ``state``."""
    limit_text = text_arg(call, "limit", required=False)
    if limit_text is not None and not limit_text.isdigit():
        raise IllegalArgumentError("limit is a whole number from 1 to 1000")
    limit = 10 if limit_text is None else int(limit_text)
    cursor = text_arg(call, "cursor", required=False)
    prefix = text_arg(call, "prefix", required=False)
    state = text_arg(call, "state", required=False)
    flow = lifecycle_flows.users_page(call.org, call.app or "", limit, cursor, prefix, state)
    users, next_cursor = yield from flow
    fields = {} if next_cursor is None else {"cursor": next_cursor}
    return ApiResult(entities=[user_entity(user) for user in users], fields=fields)


def delete_org(call: ApiCall) -> Flow[ApiResult]:
    count = yield from lifecycle_flows.delete_org(call.org)
    return ApiResult(data={"organization": call.org, "deleted_records": count})


def delete_app(call: ApiCall) -> Flow[ApiResult]:
    count = yield from lifecycle_flows.delete_app(call.org, call.app or "")
    return ApiResult(data={"application": call.app, "deleted_records": count})


def update_admin(call: ApiCall) -> Flow[ApiResult]:
    """``{"email": …}`` (null or empty: none); other properties are refused."""
    unknown = sorted(set(call.args) - {"email"})
    if unknown or "email" not in call.args:
        raise IllegalArgumentError("Only email can be changed here")
    email = text_arg(call, "email", required=False)
    admin = yield from lifecycle_flows.set_admin_email(call.state, _admin_named(call), email)
    return ApiResult(data=_admin_data(admin.uuid, admin.username, admin.email))


def delete_admin(call: ApiCall) -> Flow[ApiResult]:
    admin = yield from get_admin(_admin_named(call))
    yield from lifecycle_flows.delete_admin(call.state, admin.uuid)
    return ApiResult(data=_admin_data(admin.uuid, admin.username, admin.email))


def _admin_named(call: ApiCall) -> str:
    """The ``{user}`` segment, ``me`` standing for the calling admin user."""
    name = call.params["user"]
    principal = call.principal
    if name.lower() == "me" and principal.kind == "admin_user" and principal.uuid:
        return principal.uuid
    return name


def _admin_data(uuid: str, username: str, email: str | None) -> dict[str, object]:
    return {"uuid": uuid, "username": username, "email": email}


ROWS: tuple[ApiRow, ...] = (
    ApiRow("GET", "/users", list_users, owns_path=False),
    ApiRow("DELETE", "/orgs/{org}", delete_org, "org_admin", "management", "delete organization"),
    ApiRow(
        "DELETE",
        "/orgs/{org}/apps/{app}",
        delete_app,
        "org_admin",
        "management",
        "delete application",
    ),
    ApiRow("PUT", "/users/{user}", update_admin, "self", "management", "update user"),
    ApiRow("DELETE", "/users/{user}", delete_admin, "self", "management", "delete user"),
)
