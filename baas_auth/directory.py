"""The administrative half of the Realm: orgs, apps, credentials, users, admins (behaviour §1).

Only sequencing against the store; names and rules are validated by the core before any write.
Roles, groups and grants live in ``baas_auth.roles``.
"""

from __future__ import annotations

import secrets
import uuid as uuid_module
import warnings
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from baas_auth import records as rec
from baas_auth.errors import ConfigError, ConflictError, NotFoundError
from baas_auth.hashing import PasswordHasher, hash_client_secret, new_client_secret
from baas_auth.model import AdminUser, App, ClientCredentials, Org, User
from baas_auth.stores.protocols import Store

__all__ = [
    "DEFAULT_MIN_PASSWORD_LENGTH",
    "DEFAULT_ROLES",
    "SANDBOX_RULE",
    "USERGRID_ROLES",
    "Directory",
    "RolesPreset",
]

R = TypeVar("R")

SANDBOX_RULE = "get,put,post,delete:/**"
USERGRID_ROLES: dict[str, list[str]] = {
    "admin": [],
    "default": [SANDBOX_RULE],
    "guest": ["post:/users", "post:/devices", "put:/devices/*"],
}
"""The original system's rules for a new app (``roles="usergrid"``)."""
DEFAULT_ROLES = USERGRID_ROLES  # the name this table had in 0.1
RolesPreset = Literal["locked", "usergrid", "sandbox"]
DEFAULT_MIN_PASSWORD_LENGTH = 8
_CLIENT_PREFIX = {"org": "b3U6", "app": "YXA6"}
_SECRET_PREFIX = {"org": "b3U6", "app": "YXA6"}


def _new_uuid() -> str:
    return str(uuid_module.uuid4())


def _new_client_id(kind: Literal["org", "app"]) -> str:
    return _CLIENT_PREFIX[kind] + secrets.token_urlsafe(16)[:22]


class Directory:
    """Create, change and delete the things a realm knows about."""

    store: Store
    password_hasher: PasswordHasher
    min_password_length: int

    def _secret_key(self) -> bytes:
        raise NotImplementedError  # provided by Realm, which owns the store's meta records

    def _revoke_principal(self, principal_key: str) -> int:
        raise NotImplementedError

    # -- reading ------------------------------------------------------------------------

    def _load(self, kind: type[R], key: str, missing: str) -> R:
        raw = self.store.get(key)
        if raw is None:
            raise NotFoundError(missing)
        return rec.decode(kind, raw)

    def _app(self, org: str, app: str) -> rec.AppRecord:
        org_name = rec.org_or_app_name(org, "organization")
        app_name = rec.org_or_app_name(app, "application")
        return self._load(
            rec.AppRecord, rec.app_key(org_name, app_name), f"no application {org_name}/{app_name}"
        )

    def _user(self, app: rec.AppRecord, name: str) -> rec.UserRecord:
        """The one user that ``name`` (a username, an email or a uuid) names in ``app``."""
        missing = f"no user {name!r} in {app.org}/{app.name}"
        user_uuid = self._resolve(name, lambda n: rec.user_id_key(app.org, app.name, n), missing)
        found = self._load(rec.UserRecord, rec.user_key(app.org, app.name, user_uuid), missing)
        if found.uuid != user_uuid:
            raise NotFoundError(missing)
        return found

    def _resolve(self, name: str, claim_key: Callable[[str], str], missing: str) -> str:
        """The uuid ``name`` stands for: itself if it is a uuid, else its claim's uuid."""
        lowered = rec.identifier(name)
        if lowered is None:  # nothing can be named so; the store never sees such a key
            raise NotFoundError(missing)
        if rec.is_uuid(lowered):
            return lowered
        claim = self.store.get(claim_key(lowered))
        if claim is None:
            raise NotFoundError(missing)
        return rec.decode_text(claim, "account index entry")

    def get_org(self, name: str) -> Org:
        org_name = rec.org_or_app_name(name, "organization")
        found = self._load(rec.OrgRecord, rec.org_key(org_name), f"no organization {org_name}")
        return Org(found.uuid, found.name)

    def get_app(self, org: str, app: str) -> App:
        found = self._app(org, app)
        return App(found.uuid, found.org, found.name, found.access_token_ttl_ms)

    def list_apps(self, org: str) -> list[App]:
        org_name = self.get_org(org).name
        found = [
            rec.decode(rec.AppRecord, raw) for _, raw in self.store.scan(rec.app_prefix(org_name))
        ]
        return [App(a.uuid, a.org, a.name, a.access_token_ttl_ms) for a in found]

    def get_user(self, org: str, app: str, username: str) -> User:
        """The user named ``username`` (or with that email or uuid)."""
        return _user_value(self._user(self._app(org, app), username))

    def get_admin(self, username: str) -> AdminUser:
        return _admin_value(self._admin(username))

    def _admin(self, name: str) -> rec.AdminRecord:
        """The one admin user that ``name`` (a username, an email or a uuid) names."""
        missing = f"no admin user {name!r}"
        admin_uuid = self._resolve(name, rec.admin_id_key, missing)
        found = self._load(rec.AdminRecord, rec.admin_key(admin_uuid), missing)
        if found.uuid != admin_uuid:
            raise NotFoundError(missing)
        return found

    # -- orgs and apps --------------------------------------------------------------------

    def create_org(self, name: str) -> Org:
        """Create an organization and its ``sandbox`` app, whose guest may do anything."""
        org = rec.OrgRecord(_new_uuid(), rec.new_org_name(name))
        sandbox = rec.AppRecord(_new_uuid(), org.name, "sandbox")
        records = {rec.org_key(org.name): rec.encode(org), **_app_records(sandbox, "sandbox")}
        if not self.store.transact(create=records):
            raise ConflictError(f"the organization {org.name!r} exists")
        return Org(org.uuid, org.name)

    def create_app(
        self,
        org: str,
        name: str,
        *,
        roles: RolesPreset = "locked",
        access_token_ttl_ms: int | None = None,
    ) -> App:
        """Create an application with the roles admin, default and guest (behaviour §5.4).

        ``roles="locked"`` (the default) gives them no rules: a signed-in user may only read
        its own entity and a guest nothing, until rules are granted. ``roles="usergrid"`` gives
        the original system's rules (``default`` may do anything); ``"sandbox"`` opens the app
        to everyone.
        """
        org_name = self.get_org(org).name
        app = rec.AppRecord(
            _new_uuid(),
            org_name,
            rec.org_or_app_name(name, "application"),
            _checked_ttl(access_token_ttl_ms),
        )
        if not self.store.transact(create=_app_records(app, roles)):
            raise ConflictError(f"the application {org_name}/{app.name} exists")
        return App(app.uuid, app.org, app.name, app.access_token_ttl_ms)

    def set_access_token_ttl(self, org: str, app: str, ttl_ms: int | None) -> App:
        """Set the app's ``accesstokenttl`` (ms; 0 = user tokens never expire; None removes it)."""
        found = self._app(org, app)
        found.access_token_ttl_ms = _checked_ttl(ttl_ms)
        self.store.put(rec.app_key(found.org, found.name), rec.encode(found))
        return App(found.uuid, found.org, found.name, found.access_token_ttl_ms)

    # -- client credentials ---------------------------------------------------------------

    def create_credentials(self, org: str, app: str | None = None) -> ClientCredentials:
        """New org credentials (``app`` None) or app credentials; the secret is shown only here."""
        org_name = self.get_org(org).name
        app_name = None if app is None else self._app(org_name, app).name
        kind: Literal["org", "app"] = "org" if app_name is None else "app"
        client_id = _new_client_id(kind)
        return self._write_secret(client_id, org_name, app_name, kind, create=True)

    def regenerate_credentials(
        self, client_id: str, *, revoke_tokens: bool = True
    ) -> ClientCredentials:
        """A new secret for ``client_id``; by default its tokens stop working."""
        found = self._client(client_id)
        kind: Literal["org", "app"] = "org" if found.app is None else "app"
        creds = self._write_secret(client_id, found.org, found.app, kind, create=False)
        if revoke_tokens:
            self._revoke_principal(rec.client_principal_key(client_id))
        return creds

    def delete_credentials(self, client_id: str) -> None:
        """Delete the credentials and revoke every token issued to them."""
        self._client(client_id)
        self.store.delete(rec.client_key(client_id))
        self._revoke_principal(rec.client_principal_key(client_id))

    def _client(self, client_id: str) -> rec.ClientRecord:
        if not rec.is_client_id(client_id):
            raise NotFoundError("no such client_id")
        return self._load(rec.ClientRecord, rec.client_key(client_id), "no such client_id")

    def _write_secret(
        self,
        client_id: str,
        org: str,
        app: str | None,
        kind: Literal["org", "app"],
        *,
        create: bool,
    ) -> ClientCredentials:
        secret = new_client_secret(_SECRET_PREFIX[kind])
        record = rec.ClientRecord(
            client_id, org, app, hash_client_secret(secret, self._secret_key())
        )
        key = rec.client_key(client_id)
        if create and not self.store.create(key, rec.encode(record)):
            raise ConflictError("client_id collision; try again")
        if not create:
            self.store.put(key, rec.encode(record))
        return ClientCredentials(client_id, secret, org, app)

    # -- app users ------------------------------------------------------------------------

    def create_user(
        self,
        org: str,
        app: str,
        username: str,
        *,
        password: str | None = None,
        email: str | None = None,
        activated: bool = True,
    ) -> User:
        """Create an app user.

        Usernames, emails and uuids of an app's users form one namespace (ignoring case), so
        a username or email that is any other user's username or email is a ConflictError, and
        a username may not look like a uuid.
        """
        found = self._app(org, app)
        user = rec.UserRecord(
            _new_uuid(),
            rec.username(username),
            rec.email(email),
            self._hash_new_password(password),
            activated=activated,
        )
        claims = _claims(user.username, user.email, user.uuid, found)
        if not self.store.transact(
            create={rec.user_key(found.org, found.name, user.uuid): rec.encode(user), **claims}
        ):
            raise ConflictError(self._taken(claims, "username or email"))
        return _user_value(user)

    def _taken(self, claims: dict[str, bytes], what: str) -> str:
        """Say which claimed name is taken (for the error message only)."""
        for key in claims:
            if self.store.get(key) is not None:
                return f"the {what} {key.rpartition(':')[2]!r} is already in use"
        return f"the {what} is already in use"

    def _hash_new_password(self, password: str | None) -> str | None:
        """The hash of a password being set, after checking its length (behaviour §1)."""
        if password is None:
            return None
        if not isinstance(password, str) or len(password) > 1024:
            raise ConfigError("a password is a string of at most 1024 characters")
        if len(password) < self.min_password_length:
            raise ConfigError(f"a password has at least {self.min_password_length} characters")
        if not rec.is_text(password):
            raise ConfigError("a password is text (no lone surrogates)")
        return self.password_hasher.hash(password)

    def update_user(
        self,
        org: str,
        app: str,
        username: str,
        *,
        password: str | None = None,
        disabled: bool | None = None,
        activated: bool | None = None,
    ) -> User:
        """Change a user; disabling or deactivating revokes all of its tokens at once."""
        found = self._app(org, app)
        user = self._user(found, username)
        if password is not None:
            user.password_hash = self._hash_new_password(password)
        if disabled is not None:
            user.disabled = bool(disabled)
        if activated is not None:
            user.activated = bool(activated)
        self.store.put(rec.user_key(found.org, found.name, user.uuid), rec.encode(user))
        if user.disabled or not user.activated:
            self._revoke_principal(rec.user_principal_key(found.org, found.name, user.uuid))
        return _user_value(user)

    def delete_user(self, org: str, app: str, username: str) -> None:
        """Delete a user; its tokens stop working at once."""
        found = self._app(org, app)
        user = self._user(found, username)
        claims = _claims(user.username, user.email, user.uuid, found)
        self.store.transact(delete=[rec.user_key(found.org, found.name, user.uuid), *claims])
        self._revoke_principal(rec.user_principal_key(found.org, found.name, user.uuid))

    # -- admin users ----------------------------------------------------------------------

    def create_admin(
        self,
        username: str,
        *,
        password: str | None = None,
        orgs: Sequence[str] = (),
        email: str | None = None,
    ) -> AdminUser:
        """Create an admin user, org admin of each of ``orgs``.

        Admin usernames, emails and uuids form one namespace, as those of an app's users do.
        """
        org_names = [self.get_org(org).name for org in orgs]
        admin = rec.AdminRecord(
            _new_uuid(),
            rec.username(username),
            rec.email(email),
            self._hash_new_password(password),
            sorted(set(org_names)),
        )
        claims = _claims(admin.username, admin.email, admin.uuid, None)
        if not self.store.transact(create={rec.admin_key(admin.uuid): rec.encode(admin), **claims}):
            raise ConflictError(self._taken(claims, "admin username or email"))
        return _admin_value(admin)

    def add_admin_to_org(self, username: str, org: str) -> AdminUser:
        admin = self._admin(username)
        admin.orgs = sorted({*admin.orgs, self.get_org(org).name})
        self.store.put(rec.admin_key(admin.uuid), rec.encode(admin))
        return _admin_value(admin)

    def update_admin(
        self, username: str, *, password: str | None = None, disabled: bool | None = None
    ) -> AdminUser:
        """Change an admin user; disabling revokes all of its tokens."""
        admin = self._admin(username)
        if password is not None:
            admin.password_hash = self._hash_new_password(password)
        if disabled is not None:
            admin.disabled = bool(disabled)
        self.store.put(rec.admin_key(admin.uuid), rec.encode(admin))
        if admin.disabled:
            self._revoke_principal(rec.admin_principal_key(admin.uuid))
        return _admin_value(admin)


def _claims(
    username: str, email: str | None, account_uuid: str, app: rec.AppRecord | None
) -> dict[str, bytes]:
    """The index entries by which an account's username and email name its uuid (an app
    user's when ``app`` is given, else an admin's); one entry when both are the same text."""
    names = {username.lower(), *([] if email is None else [email.lower()])}
    target = account_uuid.encode("ascii")
    if app is None:
        return {rec.admin_id_key(name): target for name in sorted(names)}
    return {rec.user_id_key(app.org, app.name, name): target for name in sorted(names)}


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
        warnings.warn(
            'create_app(roles="default") is deprecated: new apps are "locked" by default; '
            'write roles="usergrid" for the original system\'s rules',
            DeprecationWarning,
            stacklevel=4,
        )
        return _initial_roles("usergrid")
    raise ConfigError('roles is "locked" (the default), "usergrid" or "sandbox"')


def _app_records(app: rec.AppRecord, roles: str) -> dict[str, bytes]:
    """The records of a new app: itself and its three roles, written together."""
    found = {rec.app_key(app.org, app.name): rec.encode(app)}
    for role, rules in _initial_roles(roles).items():
        found[rec.role_key(app.org, app.name, role)] = rec.encode(rec.RoleRecord(role, 0, rules))
    return found


def _user_value(user: rec.UserRecord) -> User:
    return User(user.uuid, user.username, user.email, user.activated, user.disabled)


def _admin_value(admin: rec.AdminRecord) -> AdminUser:
    return AdminUser(admin.uuid, admin.username, admin.email, tuple(admin.orgs))
