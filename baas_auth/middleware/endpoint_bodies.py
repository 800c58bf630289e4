"""What the middleware's endpoints read and write: their parameters (form, JSON or query; a
client's pair from the body or a Basic header) and their JSON answers (a token grant, ``/me``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from baas_auth.core.credentials import (
    ClientSecretPair,
    parse_query,
)
from baas_auth.core.http import RequestInfo
from baas_auth.errors import (
    BadRequestError,
    IllegalArgumentError,
)
from baas_auth.model import Principal, TokenGrant
from baas_auth.realm import flows
from baas_auth.realm.store_commands import Flow

MAX_BODY_BYTES = 64 * 1024
BODY_TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES} bytes"

__all__ = [
    "BODY_TOO_LARGE",
    "MAX_BODY_BYTES",
    "Params",
    "body_params",
    "client_pair",
    "describe",
    "param_text",
    "parse_ttl",
    "token_body",
]


_DIGITS = re.compile(r"[0-9]{1,19}")


_FORM = "application/x-www-form-urlencoded"


Params = Mapping[str, object]


def token_body(grant: TokenGrant) -> Flow[dict[str, object]]:
    """The answer of a token endpoint for ``grant`` (also of a token minted for a user)."""
    body: dict[str, object] = {"access_token": grant.access_token, "token_type": "Bearer"}
    if grant.expires_in is not None:
        body["expires_in"] = grant.expires_in
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    body.update((yield from describe(grant.principal)))
    return body


def describe(principal: Principal) -> Flow[dict[str, object]]:
    """The ``user``, ``application`` or ``organization`` part of a token answer."""
    org, app, uuid = principal.org or "", principal.app or "", principal.uuid or ""
    if principal.kind == "app_user":
        user = yield from flows.get_user(org, app, uuid)
        described = {"uuid": user.uuid, "username": user.username, "email": user.email}
        return {"user": {**described, "activated": user.activated}}
    if principal.kind == "admin_user":
        admin = yield from flows.get_admin(uuid)
        orgs = {}
        for name in admin.orgs:
            orgs[name] = yield from _organization(name)
        described = {"uuid": admin.uuid, "username": admin.username, "email": admin.email}
        states = {"activated": admin.activated, "confirmed": admin.confirmed}
        return {"user": {**described, **states, "organizations": orgs}}
    if principal.kind == "app_client":
        return {"application": (yield from flows.get_app(org, app)).uuid}
    return {"organization": (yield from _organization(org))}


def _organization(name: str) -> Flow[dict[str, object]]:
    org = yield from flows.get_org(name)
    apps = yield from flows.list_apps(name)
    listed = {app.full_name: app.uuid for app in apps}
    return {"uuid": org.uuid, "name": org.name, "applications": listed}


def client_pair(params: Params, header: object) -> tuple[str | None, str | None]:
    """The client_id and client_secret of the parameters or of a Basic header (not both)."""
    client_id, secret = param_text(params, "client_id"), param_text(params, "client_secret")
    if isinstance(header, ClientSecretPair):
        if client_id is not None or secret is not None:
            raise BadRequestError("Client credentials were sent twice")
        return header.client_id, header.client_secret
    return client_id, secret


def param_text(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"The parameter {name!r} must be a string")
    return value


def parse_ttl(value: object) -> int | None:
    """A ttl parameter: a whole number or a numeric string (ms); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise IllegalArgumentError("ttl must be a number >= 0")


def body_params(request: RequestInfo, body: bytes) -> list[tuple[str, object]]:
    """The parameters of a request body: a JSON object (whatever the Content-Type says, as
    the original SDKs send one without) or a form; 400 for a body too large or neither."""
    if len(body) > MAX_BODY_BYTES:  # the adapters stop reading past the limit; never truncate
        raise BadRequestError(BODY_TOO_LARGE)
    if not body.strip():
        return []
    content_type = next((v for k, v in request.headers if k == "content-type"), "")
    media = content_type.split(";")[0].strip().lower()
    if body.lstrip()[:1] == b"{":
        parsed = _json_object(body)
        if parsed is not None:
            return list(parsed.items())
        if media.endswith("json"):
            raise BadRequestError("The request body is not a JSON object")
    if media not in ("", _FORM):
        raise BadRequestError("The request body must be a form or a JSON object")
    return list(parse_query(body))


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None
