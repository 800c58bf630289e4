"""The administrative half of the Realm: orgs, apps, credentials, users, admins (behaviour §1).

Only sequencing against the store; names and rules are validated by the core before any write.
Roles, groups and grants live in ``baas_auth.roles``.
"""

from __future__ import annotations

import secrets
import uuid as uuid_module
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from baas_auth import records as rec
from baas_auth.errors import ConfigError, ConflictError, NotFoundError
from baas_auth.hashing import PasswordHasher, hash_client_secret, new_client_secret
from baas_auth.model import AdminUser, App, ClientCredentials, Org, User
from baas_auth.stores.protocols import Store

__all__ = ["DEFAULT_ROLES", "SANDBOX_RULE", "Directory"]

R = TypeVar("R")

SANDBOX_RULE = "get,put,post,delete:/**"
DEFAULT_ROLES: dict[str, list[str]] = {
    "admin": [],
    "default": ["get,put,post,delete:/**"],
    "guest": ["post:/users", "post:/devices", "put:/devices/*"],
}
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

    def _user(self, app: rec.AppRecord, username: str) -> rec.UserRecord:
        missing = f"no user {username!r} in {app.org}/{app.name}"
        if not isinstance(username, str):
            raise NotFoundError(missing)
        raw = self.store.get(rec.user_key(app.org, app.name, username))
        if raw is None:
            alias = self.store.get(rec.user_alias_key(app.org, app.name, username))
            if alias is None:
                raise NotFoundError(missing)
            raw = self.store.get(rec.user_key(app.org, app.name, alias.decode("utf-8")))
        if raw is None:
            raise NotFoundError(missing)
        return rec.decode(rec.UserRecord, raw)

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

    def _admin(self, username: str) -> rec.AdminRecord:
        missing = f"no admin user {username!r}"
        if not isinstance(username, str):
            raise NotFoundError(missing)
        raw = self.store.get(rec.admin_key(username))
        if raw is None:
            alias = self.store.get(rec.admin_alias_key(username))
            raw = None if alias is None else self.store.get(rec.admin_key(alias.decode("utf-8")))
        if raw is None:
            raise NotFoundError(missing)
        return rec.decode(rec.AdminRecord, raw)

    # -- orgs and apps --------------------------------------------------------------------

    def create_org(self, name: str) -> Org:
        """Create an organization and its ``sandbox`` app, whose guest may do anything."""
        org = rec.OrgRecord(_new_uuid(), rec.new_org_name(name))
        if not self.store.create(rec.org_key(org.name), rec.encode(org)):
            raise ConflictError(f"the organization {org.name!r} exists")
        self.create_app(org.name, "sandbox", roles="sandbox")
        return Org(org.uuid, org.name)

    def create_app(
        self,
        org: str,
        name: str,
        *,
        roles: Literal["default", "locked", "sandbox"] = "default",
        access_token_ttl_ms: int | None = None,
    ) -> App:
        """Create an application with the roles admin, default and guest (behaviour §5.4)."""
        org_name = self.get_org(org).name
        app = rec.AppRecord(
            _new_uuid(),
            org_name,
            rec.org_or_app_name(name, "application"),
            _checked_ttl(access_token_ttl_ms),
        )
        initial = _initial_roles(roles)
        if not self.store.create(rec.app_key(org_name, app.name), rec.encode(app)):
            raise ConflictError(f"the application {org_name}/{app.name} exists")
        for role, rules in initial.items():
            record = rec.RoleRecord(role, 0, rules)
            self.store.put(rec.role_key(org_name, app.name, role), rec.encode(record))
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
        if not isinstance(client_id, str):
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
        """Create an app user; usernames and emails are unique in the app, ignoring case."""
        found = self._app(org, app)
        user = rec.UserRecord(
            _new_uuid(),
            rec.username(username),
            rec.email(email),
            None if password is None else self.password_hasher.hash(_password(password)),
            activated=activated,
        )
        key = rec.user_key(found.org, found.name, user.username)
        if not self.store.create(key, rec.encode(user)):
            raise ConflictError(f"the username {user.username!r} is taken")
        aliases = [user.uuid] + ([] if user.email is None else [user.email])
        self._index_aliases(
            aliases,
            user.username,
            lambda a: rec.user_alias_key(found.org, found.name, a),
            undo=lambda: self.store.delete(key),
        )
        return _user_value(user)

    def _index_aliases(
        self,
        aliases: Sequence[str],
        name: str,
        key_of: Callable[[str], str],
        *,
        undo: Callable[[], object],
    ) -> None:
        written: list[str] = []
        for alias in aliases:
            if not self.store.create(key_of(alias), name.lower().encode("utf-8")):
                for key in written:
                    self.store.delete(key)
                undo()
                raise ConflictError(f"{alias!r} is already in use")
            written.append(key_of(alias))

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
            user.password_hash = self.password_hasher.hash(_password(password))
        if disabled is not None:
            user.disabled = bool(disabled)
        if activated is not None:
            user.activated = bool(activated)
        self.store.put(rec.user_key(found.org, found.name, user.username), rec.encode(user))
        if user.disabled or not user.activated:
            self._revoke_principal(rec.user_principal_key(found.org, found.name, user.uuid))
        return _user_value(user)

    def delete_user(self, org: str, app: str, username: str) -> None:
        """Delete a user; its tokens stop working at once."""
        found = self._app(org, app)
        user = self._user(found, username)
        self.store.delete(rec.user_key(found.org, found.name, user.username))
        for alias in [user.uuid] + ([] if user.email is None else [user.email]):
            self.store.delete(rec.user_alias_key(found.org, found.name, alias))
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
        """Create an admin user, org admin of each of ``orgs``."""
        org_names = [self.get_org(org).name for org in orgs]
        admin = rec.AdminRecord(
            _new_uuid(),
            rec.username(username),
            rec.email(email),
            None if password is None else self.password_hasher.hash(_password(password)),
            sorted(set(org_names)),
        )
        key = rec.admin_key(admin.username)
        if not self.store.create(key, rec.encode(admin)):
            raise ConflictError(f"the admin username {admin.username!r} is taken")
        aliases = [admin.uuid] + ([] if admin.email is None else [admin.email])
        self._index_aliases(
            aliases, admin.username, rec.admin_alias_key, undo=lambda: self.store.delete(key)
        )
        return _admin_value(admin)

    def add_admin_to_org(self, username: str, org: str) -> AdminUser:
        admin = self._admin(username)
        admin.orgs = sorted({*admin.orgs, self.get_org(org).name})
        self.store.put(rec.admin_key(admin.username), rec.encode(admin))
        return _admin_value(admin)

    def update_admin(
        self, username: str, *, password: str | None = None, disabled: bool | None = None
    ) -> AdminUser:
        """Change an admin user; disabling revokes all of its tokens."""
        admin = self._admin(username)
        if password is not None:
            admin.password_hash = self.password_hasher.hash(_password(password))
        if disabled is not None:
            admin.disabled = bool(disabled)
        self.store.put(rec.admin_key(admin.username), rec.encode(admin))
        if admin.disabled:
            self._revoke_principal(rec.admin_principal_key(admin.uuid))
        return _admin_value(admin)


def _password(password: str) -> str:
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise ConfigError("a password is a non-empty string of at most 1024 characters")
    return password


def _checked_ttl(ttl_ms: int | None) -> int | None:
    if ttl_ms is None:
        return None
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 0:
        raise ConfigError("accesstokenttl is a whole number of milliseconds >= 0, or None")
    return ttl_ms


def _initial_roles(kind: str) -> dict[str, list[str]]:
    if kind == "default":
        return {name: list(rules) for name, rules in DEFAULT_ROLES.items()}
    if kind == "locked":
        return {name: [] for name in DEFAULT_ROLES}
    if kind == "sandbox":
        roles = _initial_roles("default")
        roles["guest"].append(SANDBOX_RULE)  # default already grants exactly this rule
        return roles
    raise ConfigError('roles is "default" or "locked"')


def _user_value(user: rec.UserRecord) -> User:
    return User(user.uuid, user.username, user.email, user.activated, user.disabled)


def _admin_value(admin: rec.AdminRecord) -> AdminUser:
    return AdminUser(admin.uuid, admin.username, admin.email, tuple(admin.orgs))
