"""Reading a declaration file (``baas-auth apply realm.toml``): TOML by the standard library's
``tomllib``, checked strictly (an unknown key is an error, naming where it is), names and rules
checked and made canonical as the realm would."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import BinaryIO, TypeVar, cast

from baas_auth.cli.failures import CommandError
from baas_auth.cli.spec import (
    FORMAT_VERSION,
    AdminSpec,
    AppSpec,
    GroupSpec,
    OrgSpec,
    ProviderSpec,
    RealmSpec,
    RoleSpec,
    UserSpec,
)
from baas_auth.core import identifiers as ids
from baas_auth.core.identity_providers import PROVIDER_FIELDS, IdentityProvider
from baas_auth.core.rules import Rule
from baas_auth.errors import ConfigError
from baas_auth.realm.directory import RolesPreset
from baas_auth.realm.identity_provider_flows import provider_settings
from baas_auth.realm.refresh_flows import MAX_GRACE_MS

__all__ = ["ManifestError", "read_manifest"]

T = TypeVar("T")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRESETS = ("locked", "usergrid", "sandbox")


class ManifestError(CommandError):
    """The declaration file is not what ``apply`` reads; the message says where."""


def read_manifest(stream: BinaryIO, source: str) -> RealmSpec:
    try:
        data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{source}: not TOML: {error}") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{source}: not UTF-8 text") from None
    top = _Table(data, source)
    version = top.take("version", int, FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ManifestError(f"{source}: version {version}; this baas-auth reads version 1")
    orgs = top.tables("orgs", _org)
    admins = top.tables("admins", _admin)
    admin_refresh = _admin_tokens(top) if "admin_tokens" in top.data else None
    top.done()
    orgs_by_name = _keyed(orgs, top.where + ".orgs")
    return RealmSpec(orgs_by_name, _keyed(admins, top.where + ".admins"), admin_refresh)


def _admin_tokens(top: _Table) -> tuple[int | None, int]:
    """``[admin_tokens]``: admin users' refresh tokens, as an app's (left out: off)."""
    table = _Table(top.take("admin_tokens", dict, {}), top.where + ".admin_tokens")
    settings = _refresh_settings(table)
    table.done()
    return settings


def _refresh_settings(table: _Table) -> tuple[int | None, int]:
    ttl = _ms(table.take("refreshtokenttl", int, 0), table) or None
    grace = _ms(table.take("refreshtokengrace", int, 0), table)
    if grace > MAX_GRACE_MS:
        raise ManifestError(f"{table.where}.refreshtokengrace: at most {MAX_GRACE_MS} ms")
    return ttl, grace


class _Table:
    """One table of the file: its keys taken one by one, with their types checked."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ManifestError(f"{where}: expected a table")
        self.data: dict[str, object] = data
        self.where = where
        self.seen: set[str] = set()

    def take(self, key: str, kind: type[T], default: T) -> T:
        self.seen.add(key)
        value = self.data.get(key, default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ManifestError(f"{self.where}.{key}: expected {_kind_name(kind)}")
        return value

    def names(self, key: str, canonical: Callable[[str], str]) -> list[str]:
        """A list of names (or rules), each made canonical; duplicates once."""
        items = self.take(key, list, [])
        found: list[str] = []
        for index, item in enumerate(items):
            where = f"{self.where}.{key}[{index}]"
            if not isinstance(item, str):
                raise ManifestError(f"{where}: expected a string")
            found.append(_checked(canonical, item, where))
        return list(dict.fromkeys(found))

    def tables(self, key: str, read: Callable[[str, _Table], T]) -> list[T]:
        inner = _Table(self.take(key, dict, {}), f"{self.where}.{key}")
        return [read(name, _Table(value, f"{inner.where}.{_quoted(name)}"))
                for name, value in inner.data.items()]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ManifestError(f"{self.where}: unknown key {unknown[0]!r}")


def _org(name: str, table: _Table) -> OrgSpec:
    org = OrgSpec(_checked(ids.new_org_name, name, table.where))
    org.apps = _keyed(table.tables("apps", _app), table.where + ".apps")
    org.providers = _providers(table, org_level=True)
    table.done()
    return org


def _app(name: str, table: _Table) -> AppSpec:
    app = AppSpec(_checked(lambda n: ids.org_or_app_name(n, "application"), name, table.where))
    preset = table.take("preset", str, "locked")
    if preset not in _PRESETS:
        raise ManifestError(f"{table.where}.preset: one of {', '.join(_PRESETS)}")
    app.preset = cast(RolesPreset, preset)
    if "accesstokenttl" in table.data:
        app.ttl_ms = _ms(table.take("accesstokenttl", int, 0), table)
    app.refresh_ttl_ms, app.refresh_grace_ms = _refresh_settings(table)
    app.roles = _keyed(table.tables("roles", _role), table.where + ".roles")
    app.groups = _keyed(table.tables("groups", _group), table.where + ".groups")
    app.users = _keyed(table.tables("users", _user), table.where + ".users")
    app.providers = _providers(table, org_level=False)
    table.done()
    return app


def _role(name: str, table: _Table) -> RoleSpec:
    role = RoleSpec(_checked(ids.role_name, name, table.where))
    role.inactivity_ms = _ms(table.take("inactivity", int, 0), table)
    role.rules = table.names("rules", _rule)
    table.done()
    return role


def _group(path: str, table: _Table) -> GroupSpec:
    group = GroupSpec(_checked(ids.group_path, path, table.where))
    group.rules = table.names("rules", _rule)
    group.roles = table.names("roles", ids.role_name)
    group.members = table.names("members", ids.username)
    table.done()
    return group


def _user(name: str, table: _Table) -> UserSpec:
    user = UserSpec(_checked(ids.username, name, table.where))
    user.email = _email(table)
    user.password_env = _password_env(table)
    user.roles = table.names("roles", ids.role_name)
    user.groups = table.names("groups", ids.group_path)
    user.rules = table.names("rules", _rule)
    user.disabled = table.take("disabled", bool, False)
    user.activated = table.take("activated", bool, True)
    table.done()
    return user


def _admin(name: str, table: _Table) -> AdminSpec:
    admin = AdminSpec(_checked(ids.username, name, table.where))
    admin.email = _email(table)
    admin.password_env = _password_env(table)
    admin.orgs = table.names("orgs", lambda org: ids.org_or_app_name(org, "organization"))
    admin.disabled = table.take("disabled", bool, False)
    table.done()
    return admin


def _providers(table: _Table, *, org_level: bool) -> dict[str, ProviderSpec]:
    """``identity_providers``: an array of tables, each a provider's settings as
    ``add_identity_provider`` takes them, checked as it checks them."""
    found: dict[str, ProviderSpec] = {}
    for index, item in enumerate(table.take("identity_providers", list, [])):
        where = f"{table.where}.identity_providers[{index}]"
        if not isinstance(item, dict):
            raise ManifestError(f"{where}: expected a table")
        unknown = sorted(set(item) - set(PROVIDER_FIELDS))
        if unknown:
            raise ManifestError(f"{where}: unknown key {unknown[0]!r}")
        settings = provider_settings(item, org_level=org_level)
        try:
            provider = IdentityProvider(**settings)
        except (ConfigError, TypeError) as error:
            raise ManifestError(f"{where}: {error}") from None
        if provider.issuer in found:
            raise ManifestError(f"{where}: the issuer {provider.issuer!r} is there twice")
        found[provider.issuer] = ProviderSpec(provider.issuer, provider.as_dict())
    return found


def _email(table: _Table) -> str | None:
    value = table.take("email", str, "")
    return _checked(ids.email, value, f"{table.where}.email") if value else None


def _password_env(table: _Table) -> str | None:
    name = table.take("password_env", str, "")
    if name and not _ENV_NAME.fullmatch(name):
        raise ManifestError(f"{table.where}.password_env: the name of an environment variable")
    return name or None


def _ms(value: int, table: _Table) -> int:
    if value < 0:
        raise ManifestError(f"{table.where}: milliseconds are a whole number >= 0")
    return value


def _rule(text: str) -> str:
    return str(Rule.parse(text))


def _checked(canonical: Callable[[str], T | None], value: str, where: str) -> T:
    """``canonical(value)``; its ConfigError names where the value is."""
    try:
        checked = canonical(value)
    except ConfigError as error:
        raise ManifestError(f"{where}: {error}") from None
    if checked is None:
        raise ManifestError(f"{where}: empty")
    return checked


def _keyed(items: list[T], where: str) -> dict[str, T]:
    """Items by their lower-cased name or path; two that differ only in case are an error."""
    found: dict[str, T] = {}
    for item in items:
        key = _key_of(item).lower()
        if key in found:
            raise ManifestError(f"{where}: {_key_of(item)!r} is there twice (ignoring case)")
        found[key] = item
    return found


def _key_of(item: object) -> str:
    for attribute in ("path", "username", "name"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return value
    raise TypeError(item)  # not a spec value: a bug


def _kind_name(kind: type) -> str:
    names = {int: "a whole number", str: "a string", bool: "true or false", list: "an array",
             dict: "a table"}
    return names.get(kind, kind.__name__)


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'
