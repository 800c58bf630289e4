"""App users and admin users (behaviour §1), as flows: made, read, changed and deleted.

An account and the claims of its names are written in one ``transact``: usernames, emails and
uuids of an app's users form one namespace, as do admins'. Passwords are hashed off the loop
(``offload``) under the realm's KDF.
"""

from __future__ import annotations

from collections.abc import Sequence

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.errors import ConfigError, ConflictError
from baas_auth.model import AdminUser, User
from baas_auth.realm import onetime
from baas_auth.realm.directory import new_uuid
from baas_auth.realm.federated_users import record_admin_cutoff, record_cutoff
from baas_auth.realm.lookups import admin_of, app_of, org_of, user_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, offload, put, transact
from baas_auth.realm.token_commands import delete_principal_tokens

__all__ = [
    "add_admin_to_org",
    "check_new_password",
    "create_admin",
    "create_user",
    "delete_user",
    "get_admin",
    "get_user",
    "send_admin_token",
    "update_admin",
    "update_user",
]


def get_user(org: str, app: str, name: str) -> Flow[User]:
    """The user named ``name`` (a username, an email or a uuid)."""
    found = yield from app_of(org, app)
    return _user_value((yield from user_of(found, name)))


def get_admin(name: str) -> Flow[AdminUser]:
    return _admin_value((yield from admin_of(name)))


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
        new_uuid(),
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
        yield from record_cutoff(state, found.org, found.name, user.username)
        principal = record_keys.user_principal_key(found.org, found.name, user.uuid)
        yield from delete_principal_tokens(principal)
    return _user_value(user)


def delete_user(state: RealmState, org: str, app: str, name: str) -> Flow[None]:
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    yield from record_cutoff(state, found.org, found.name, user.username)
    claims = _claims(user.username, user.email, user.uuid, found)
    yield from transact(delete=[record_keys.user_key(found.org, found.name, user.uuid), *claims])
    principal = record_keys.user_principal_key(found.org, found.name, user.uuid)
    yield from delete_principal_tokens(principal)


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
        new_uuid(),
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
        yield from record_admin_cutoff(state, admin.email)
        yield from delete_principal_tokens(record_keys.admin_principal_key(admin.uuid))
    return _admin_value(admin)


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
