"""Orgs, apps, client credentials, app users and admin users (behaviour §1), as flows.

Names and values are validated by the core before any write; records that must change together
(an account and the claims of its names, an app and its roles) are written in one
``transact``. Usernames, emails and uuids of an app's users form one namespace, as do admins'.
"""

from __future__ import annotations

import secrets
import uuid as uuid_module
from collections.abc import Sequence
from typing import Literal

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.hashing import hash_client_secret, new_client_secret
from baas_auth.errors import ConfigError, ConflictError
from baas_auth.model import AdminUser, App, ClientCredentials, Org, User
from baas_auth.realm import onetime
from baas_auth.realm.caller_warnings import warn_caller
from baas_auth.realm.lookups import admin_of, app_of, client_of, org_of, user_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import (
    Flow,
    delete,
    delete_principal_tokens,
    get,
    offload,
    put,
    scan,
    transact,
)

__all__ = [
    "SANDBOX_RULE",
    "USERGRID_ROLES",
    "RolesPreset",
    "add_admin_to_org",
    "check_new_password",
    "create_admin",
    "create_app",
    "create_credentials",
    "create_org",
    "create_user",
    "delete_credentials",
    "delete_user",
    "get_admin",
    "get_app",
    "get_org",
    "get_user",
    "list_apps",
    "regenerate_credentials",
    "send_admin_token",
    "set_access_token_ttl",
    "update_admin",
    "update_user",
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


def _new_uuid() -> str:
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


def get_user(org: str, app: str, name: str) -> Flow[User]:
    """The user named ``name`` (a username, an email or a uuid)."""
    found = yield from app_of(org, app)
    return _user_value((yield from user_of(found, name)))


def get_admin(name: str) -> Flow[AdminUser]:
    return _admin_value((yield from admin_of(name)))


# -- orgs and apps --------------------------------------------------------------------------


def create_org(name: str) -> Flow[Org]:
    """Create an organization and its ``sandbox`` app, whose guest may do anything."""
    org = rec.OrgRecord(_new_uuid(), ids.new_org_name(name))
    sandbox = rec.AppRecord(_new_uuid(), org.name, "sandbox")
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
        _new_uuid(),
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


def create_user(
    state: RealmState,
    org: str,
    app: str,
    username: str,
    password: str | None,
    email: str | None,
    activated: bool,
) -> Flow[User]:
    found = yield from app_of(org, app)
    user = rec.UserRecord(
        _new_uuid(),
        ids.username(username),
        ids.email(email),
        (yield from _hash_new_password(state, password)),
        activated=activated,
    )
    claims = _claims(user.username, user.email, user.uuid, found)
    record = {record_keys.user_key(found.org, found.name, user.uuid): rec.encode(user)}
    if not (yield from transact(create={**record, **claims})):
        raise ConflictError((yield from _taken(claims, "username or email")))
    if not activated and state.settings.on_user_token is not None:
        yield from onetime.issue(state, "activation", user, found)
    return _user_value(user)


def update_user(
    state: RealmState,
    org: str,
    app: str,
    name: str,
    password: str | None,
    disabled: bool | None,
    activated: bool | None,
) -> Flow[User]:
    """Change a user; disabling or deactivating revokes all of its tokens at once."""
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    if password is not None:
        user.password_hash = yield from _hash_new_password(state, password)
    if disabled is not None:
        user.disabled = bool(disabled)
    if activated is not None:
        user.activated = bool(activated)
    yield from put(record_keys.user_key(found.org, found.name, user.uuid), rec.encode(user))
    if user.disabled or not user.activated:
        principal = record_keys.user_principal_key(found.org, found.name, user.uuid)
        yield from delete_principal_tokens(principal)
    return _user_value(user)


def delete_user(org: str, app: str, name: str) -> Flow[None]:
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    claims = _claims(user.username, user.email, user.uuid, found)
    yield from transact(delete=[record_keys.user_key(found.org, found.name, user.uuid), *claims])
    principal = record_keys.user_principal_key(found.org, found.name, user.uuid)
    yield from delete_principal_tokens(principal)


# -- admin users ----------------------------------------------------------------------------


def create_admin(
    state: RealmState,
    username: str,
    password: str | None,
    orgs: Sequence[str],
    email: str | None,
    activated: bool = True,
    confirmed: bool = True,
) -> Flow[AdminUser]:
    """Create an admin user; one created unconfirmed (or unactivated) gets its confirmation
    (or activation) token through the realm's hook, if it has one."""
    org_names = []
    for org in orgs:
        org_names.append((yield from org_of(org)).name)
    admin = rec.AdminRecord(
        _new_uuid(),
        ids.username(username),
        ids.email(email),
        (yield from _hash_new_password(state, password)),
        sorted(set(org_names)),
        activated=bool(activated),
        confirmed=bool(confirmed),
    )
    claims = _claims(admin.username, admin.email, admin.uuid, None)
    record = {record_keys.admin_key(admin.uuid): rec.encode(admin)}
    if not (yield from transact(create={**record, **claims})):
        raise ConflictError((yield from _taken(claims, "admin username or email")))
    if state.settings.on_user_token is not None:
        yield from send_admin_token(state, admin)
    return _admin_value(admin)


def send_admin_token(state: RealmState, admin: rec.AdminRecord) -> Flow[bool]:
    """The token an admin user lacks to sign in, through the hook: a confirmation token while
    it is unconfirmed, then an activation token while it is unactivated; False if neither."""
    if not admin.confirmed:
        yield from onetime.issue(state, "confirmation", admin, None)
    elif not admin.activated:
        yield from onetime.issue(state, "activation", admin, None)
    else:
        return False
    return True


def add_admin_to_org(name: str, org: str) -> Flow[AdminUser]:
    admin = yield from admin_of(name)
    admin.orgs = sorted({*admin.orgs, (yield from org_of(org)).name})
    yield from put(record_keys.admin_key(admin.uuid), rec.encode(admin))
    return _admin_value(admin)


def update_admin(
    state: RealmState,
    name: str,
    password: str | None,
    disabled: bool | None,
    activated: bool | None = None,
    confirmed: bool | None = None,
) -> Flow[AdminUser]:
    """Change an admin user; disabling, deactivating or unconfirming revokes all of its
    tokens."""
    admin = yield from admin_of(name)
    if password is not None:
        admin.password_hash = yield from _hash_new_password(state, password)
    if disabled is not None:
        admin.disabled = bool(disabled)
    if activated is not None:
        admin.activated = bool(activated)
    if confirmed is not None:
        admin.confirmed = bool(confirmed)
    yield from put(record_keys.admin_key(admin.uuid), rec.encode(admin))
    if admin.disabled or not admin.activated or not admin.confirmed:
        yield from delete_principal_tokens(record_keys.admin_principal_key(admin.uuid))
    return _admin_value(admin)


# -- helpers ------------------------------------------------------------------------------


def _hash_new_password(state: RealmState, password: str | None) -> Flow[str | None]:
    """The hash of a password being set, after checking it (behaviour §1); the KDF runs
    where the driver puts slow work."""
    if password is None:
        return None
    check_new_password(state, password)
    hashed: str = yield from offload(state.settings.password_hasher.hash, password)
    return hashed


def check_new_password(state: RealmState, password: object) -> None:
    """ConfigError unless ``password`` may be set (behaviour §1): cheap, so it comes before
    any KDF or any single-use token is spent."""
    if not isinstance(password, str) or len(password) > 1024:
        raise ConfigError("a password is a string of at most 1024 characters")
    least = state.settings.min_password_length
    if len(password) < least:
        raise ConfigError(f"a password has at least {least} characters")
    if not ids.is_text(password):
        raise ConfigError("a password is text (no lone surrogates)")


def _taken(claims: dict[str, bytes], what: str) -> Flow[str]:
    """Say which claimed name is taken (for the error message only)."""
    for key in claims:
        if (yield from get(key)) is not None:
            return f"the {what} {key.rpartition(':')[2]!r} is already in use"
    return f"the {what} is already in use"


def _claims(
    username: str, email: str | None, account_uuid: str, app: rec.AppRecord | None
) -> dict[str, bytes]:
    """The index entries by which an account's username and email name its uuid (an app
    user's when ``app`` is given, else an admin's); one entry when both fold to the same text
    (``records.fold``: look-alikes are one name)."""
    names = {ids.fold(username), *([] if email is None else [ids.fold(email)])}
    target = account_uuid.encode("ascii")
    if app is None:
        return {record_keys.admin_id_key(name): target for name in sorted(names)}
    return {record_keys.user_id_key(app.org, app.name, name): target for name in sorted(names)}


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
        found[key] = rec.encode(rec.RoleRecord(role, 0, rules))
    return found


def _app_value(app: rec.AppRecord) -> App:
    return App(app.uuid, app.org, app.name, app.access_token_ttl_ms)


def _user_value(user: rec.UserRecord) -> User:
    return User(user.uuid, user.username, user.email, user.activated, user.disabled)


def _admin_value(admin: rec.AdminRecord) -> AdminUser:
    return AdminUser(
        admin.uuid,
        admin.username,
        admin.email,
        tuple(admin.orgs),
        admin.disabled,
        admin.activated,
        admin.confirmed,
    )
