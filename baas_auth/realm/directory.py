"""Orgs, apps and client credentials (behaviour §1), as flows; app users and admin users are in
``account_directory``.

Names and values are validated by the core before any write; records that must change together
(an account and the claims of its names, an app and its roles) are written in one
``transact``. Usernames, emails and uuids of an app's users form one namespace, as do admins'.
"""

from __future__ import annotations

import secrets
import uuid as uuid_module
from typing import Literal

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.hashing import hash_client_secret, new_client_secret
from baas_auth.errors import ConfigError, ConflictError
from baas_auth.model import App, ClientCredentials, Org
from baas_auth.realm.caller_warnings import warn_caller
from baas_auth.realm.lookups import app_of, client_of, org_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, delete, put, scan, transact
from baas_auth.realm.token_commands import delete_principal_tokens

__all__ = [
    "SANDBOX_RULE",
    "USERGRID_ROLES",
    "RolesPreset",
    "create_app",
    "create_credentials",
    "create_org",
    "delete_credentials",
    "get_app",
    "get_org",
    "list_apps",
    "new_uuid",
    "regenerate_credentials",
    "set_access_token_ttl",
]

SANDBOX_RULE = "get,put,post,delete:/**"
USERGRID_ROLES: dict[str, list[str]] = {
    "admin": [],
    "default": [SANDBOX_RULE],
    "guest": ["post:/users", "post:/devices", "put:/devices/*"],
}
"""The original system's rules for a new app (``roles="usergrid"``)."""
RolesPreset = Literal["locked", "usergrid", "sandbox"]
_CLIENT_PREFIX = {"org": "b3U6", "app": "YXA6"}


def new_uuid() -> str:
    return str(uuid_module.uuid4())


# -- reading --------------------------------------------------------------------------------


def get_org(name: str) -> Flow[Org]:
    found = yield from org_of(name)
    return Org(found.uuid, found.name)


def get_app(org: str, app: str) -> Flow[App]:
    return _app_value((yield from app_of(org, app)))


def list_apps(org: str) -> Flow[list[App]]:
    org_name = (yield from org_of(org)).name
    rows = yield from scan(record_keys.app_prefix(org_name))
    return [_app_value(rec.decode(rec.AppRecord, raw)) for _, raw in rows]


# -- orgs and apps --------------------------------------------------------------------------


def create_org(name: str) -> Flow[Org]:
    """Create an organization and its ``sandbox`` app, whose guest may do anything."""
    org = rec.OrgRecord(new_uuid(), ids.new_org_name(name))
    sandbox = rec.AppRecord(new_uuid(), org.name, "sandbox")
    records = {record_keys.org_key(org.name): rec.encode(org), **_app_records(sandbox, "sandbox")}
    if not (yield from transact(create=records)):
        raise ConflictError(f"the organization {org.name!r} exists")
    return Org(org.uuid, org.name)


def create_app(
    org: str, name: str, roles: RolesPreset, access_token_ttl_ms: int | None
) -> Flow[App]:
    """Create an application with the roles admin, default and guest (behaviour §5.4)."""
    org_name = (yield from org_of(org)).name
    app = rec.AppRecord(
        new_uuid(),
        org_name,
        ids.new_app_name(name),
        _checked_ttl(access_token_ttl_ms),
    )
    if not (yield from transact(create=_app_records(app, roles))):
        raise ConflictError(f"the application {org_name}/{app.name} exists")
    return _app_value(app)


def set_access_token_ttl(org: str, app: str, ttl_ms: int | None) -> Flow[App]:
    found = yield from app_of(org, app)
    found.access_token_ttl_ms = _checked_ttl(ttl_ms)
    yield from put(record_keys.app_key(found.org, found.name), rec.encode(found))
    return _app_value(found)


# -- client credentials ---------------------------------------------------------------------


def create_credentials(state: RealmState, org: str, app: str | None) -> Flow[ClientCredentials]:
    org_name = (yield from org_of(org)).name
    app_name = None if app is None else (yield from app_of(org_name, app)).name
    kind: Literal["org", "app"] = "org" if app_name is None else "app"
    client_id = _CLIENT_PREFIX[kind] + secrets.token_urlsafe(16)[:22]
    creds, record = _new_secret(state, client_id, org_name, app_name)
    if not (yield from transact(create={record_keys.client_key(client_id): record})):
        raise ConflictError("client_id collision; try again")
    return creds


def regenerate_credentials(
    state: RealmState, client_id: str, revoke_tokens: bool
) -> Flow[ClientCredentials]:
    found = yield from client_of(client_id)
    creds, record = _new_secret(state, client_id, found.org, found.app)
    yield from put(record_keys.client_key(client_id), record)
    if revoke_tokens:
        yield from delete_principal_tokens(record_keys.client_principal_key(client_id))
    return creds


def delete_credentials(client_id: str) -> Flow[None]:
    yield from client_of(client_id)
    yield from delete(record_keys.client_key(client_id))
    yield from delete_principal_tokens(record_keys.client_principal_key(client_id))


def _new_secret(
    state: RealmState, client_id: str, org: str, app: str | None
) -> tuple[ClientCredentials, bytes]:
    if state.keys is None:  # the drivers load the keys before any flow
        raise ConfigError("the realm's keys are not loaded")
    secret = new_client_secret(_CLIENT_PREFIX["org" if app is None else "app"])
    hashed = hash_client_secret(secret, state.keys.secret_key)
    return ClientCredentials(client_id, secret, org, app), rec.encode(
        rec.ClientRecord(client_id, org, app, hashed)
    )


# -- app users ------------------------------------------------------------------------------


# -- admin users ----------------------------------------------------------------------------


# -- helpers ------------------------------------------------------------------------------


def _checked_ttl(ttl_ms: int | None) -> int | None:
    if ttl_ms is None:
        return None
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0:
        raise ConfigError("accesstokenttl is a whole number of milliseconds >= 0, or None")
    return ttl_ms


def _initial_roles(kind: str) -> dict[str, list[str]]:
    if kind == "locked":
        return {name: [] for name in USERGRID_ROLES}
    if kind == "usergrid":
        return {name: list(rules) for name, rules in USERGRID_ROLES.items()}
    if kind == "sandbox":
        return {"admin": [], "default": [SANDBOX_RULE], "guest": [SANDBOX_RULE]}
    if kind == "default":
        warn_caller(
            'create_app(roles="default") is deprecated: new apps are "locked" by default; '
            'write roles="usergrid" for the original system\'s rules',
            DeprecationWarning,
        )
        return _initial_roles("usergrid")
    raise ConfigError('roles is "locked" (the default), "usergrid" or "sandbox"')


def _app_records(app: rec.AppRecord, roles: str) -> dict[str, bytes]:
    """The records of a new app: itself and its three roles, written together."""
    found = {record_keys.app_key(app.org, app.name): rec.encode(app)}
    for role, rules in _initial_roles(roles).items():
        key = record_keys.role_key(app.org, app.name, role)
        found[key] = rec.encode(rec.RoleRecord(role, 0, rules, new_uuid()))
    return found


def _app_value(app: rec.AppRecord) -> App:
    return App(
        app.uuid,
        app.org,
        app.name,
        app.access_token_ttl_ms,
        app.refresh_token_ttl_ms,
        app.refresh_grace_ms,
    )


