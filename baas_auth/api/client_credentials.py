"""Client credentials and the app's token lifetime over HTTP (rows of the management API):
``GET|POST /{org}/{app}/credentials``, ``GET|POST /management/orgs/{org}/credentials`` and
``/management/orgs/{org}/apps/{app}/credentials``, and the app's token settings:
``PUT /{org}/{app}`` with ``accesstokenttl``, ``refreshtokenttl`` and ``refreshtokengrace``, read
back with ``GET /management/orgs/{org}/apps/{app}``.

A GET shows client_ids only; a secret appears once, in the answer of the POST that made it.
A POST regenerates the secret of the one pair the org or app has (making one when it has
none; ``client_id`` chooses among several), and the tokens issued with the old secret stop
working. Only the app's clients and its org's admins and clients may call these: no rule
grants them."""

from __future__ import annotations

from baas_auth.api.params import text_arg, whole_number
from baas_auth.api.table import ApiCall, ApiResult, ApiRow
from baas_auth.errors import BadRequestError, IllegalArgumentError, NotFoundError
from baas_auth.model import App, ClientCredentials, ClientInfo
from baas_auth.realm import flows
from baas_auth.realm.refresh_flows import MAX_GRACE_MS, set_refresh_token_ttl
from baas_auth.realm.store_commands import Flow

__all__ = ["ROWS"]


def show(call: ApiCall) -> Flow[ApiResult]:
    """The client_ids: ``credentials`` holds the one when there is exactly one, as the
    original answers; ``list`` all of them."""
    held = yield from _held(call)
    fields: dict[str, object] = {"list": [{"client_id": info.client_id} for info in held]}
    if len(held) == 1:
        fields["credentials"] = {"client_id": held[0].client_id}
    return ApiResult(fields=fields)


def regenerate(call: ApiCall) -> Flow[ApiResult]:
    held = yield from _held(call)
    chosen = _chosen(call, held)
    if chosen is None:
        creds = yield from flows.create_credentials(call.state, call.org, call.app)
    else:
        creds = yield from flows.regenerate_credentials(call.state, chosen, True)
    return ApiResult(fields={"credentials": _shown_once(creds)})


def _held(call: ApiCall) -> Flow[list[ClientInfo]]:
    """The org's own credentials (``app`` None), or the app's."""
    listed = yield from flows.list_credentials(call.org, call.app)
    return [info for info in listed if info.app == call.app]


def _chosen(call: ApiCall, held: list[ClientInfo]) -> str | None:
    wanted = text_arg(call, "client_id", required=False)
    ids = [info.client_id for info in held]
    if wanted is not None:
        if wanted not in ids:
            raise NotFoundError("no such client_id here")
        return wanted
    if len(ids) > 1:
        raise BadRequestError("There are several client_ids here: send the one to regenerate")
    return ids[0] if ids else None


def _shown_once(creds: ClientCredentials) -> dict[str, str]:
    return {"client_id": creds.client_id, "client_secret": creds.client_secret}


# -- PUT /{org}/{app} ----------------------------------------------------------------------


def update_app(call: ApiCall) -> Flow[ApiResult]:
    """``accesstokenttl`` (ms; 0: the app's user tokens never expire; null removes it),
    ``refreshtokenttl`` (ms a refresh-token family lives; null or 0: no refresh tokens) and
    ``refreshtokengrace`` (0 to 60 000 ms), any of them. Every value is checked before any is
    written. They apply to tokens issued from now on; those issued before keep their life."""
    unknown = sorted(set(call.args) - set(_SETTINGS))
    if unknown:
        named = ", ".join(_SETTINGS)
        raise IllegalArgumentError(f"Only {named} can be changed here, not {unknown[0]!r}")
    if not call.args:
        raise IllegalArgumentError("Send accesstokenttl or refreshtokenttl, in milliseconds")
    given = {name: _ms_or_none(call.arg(name), name) for name in _SETTINGS if name in call.args}
    grace = given.get("refreshtokengrace")
    if grace is not None and grace > MAX_GRACE_MS:
        raise IllegalArgumentError(f"refreshtokengrace must be at most {MAX_GRACE_MS}")
    org, name = call.org, call.app or ""
    app = yield from flows.get_app(org, name)
    if "accesstokenttl" in given:
        app = yield from flows.set_access_token_ttl(org, name, given["accesstokenttl"])
    if "refreshtokenttl" in given or "refreshtokengrace" in given:
        ttl = given.get("refreshtokenttl", app.refresh_token_ttl_ms)
        kept = given.get("refreshtokengrace", app.refresh_grace_ms) or 0  # null: none
        app = yield from set_refresh_token_ttl(org, name, ttl, kept)
    return ApiResult(entities=[_app_entity(app)])


_SETTINGS = ("accesstokenttl", "refreshtokenttl", "refreshtokengrace")


def _ms_or_none(value: object, name: str) -> int | None:
    return None if value is None else whole_number(value, name)


def read_app(call: ApiCall) -> Flow[ApiResult]:
    """The app's entity with its token settings."""
    return ApiResult(entities=[_app_entity((yield from flows.get_app(call.org, call.app or "")))])


def _app_entity(app: App) -> dict[str, object]:
    return {
        "uuid": app.uuid,
        "type": "application",
        "name": app.full_name,
        "applicationName": app.name,
        "accesstokenttl": app.access_token_ttl_ms,
        "refreshtokenttl": app.refresh_token_ttl_ms,
        "refreshtokengrace": app.refresh_grace_ms,
    }


_ORG = "/orgs/{org}/credentials"
_ORG_APP = "/orgs/{org}/apps/{app}/credentials"

ROWS: tuple[ApiRow, ...] = (
    ApiRow("GET", "/credentials", show, access="admin", action="get application keys"),
    ApiRow("POST", "/credentials", regenerate, access="admin", action="generate application keys"),
    ApiRow("PUT", "/", update_app, access="admin", owns_path=False),
    ApiRow(
        "GET",
        "/orgs/{org}/apps/{app}",
        read_app,
        access="org_admin",
        area="management",
        action="get application",
    ),
    ApiRow(
        "GET",
        _ORG,
        show,
        access="org_admin",
        area="management",
        action="get organization client credentials",
    ),
    ApiRow(
        "POST",
        _ORG,
        regenerate,
        access="org_admin",
        area="management",
        action="generate organization client credentials",
    ),
    ApiRow(
        "GET",
        _ORG_APP,
        show,
        access="org_admin",
        area="management",
        action="get application client credentials",
    ),
    ApiRow(
        "POST",
        _ORG_APP,
        regenerate,
        access="org_admin",
        area="management",
        action="generate application client credentials",
    ),
)
