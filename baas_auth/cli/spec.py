"""The realm as ``apply`` and ``export`` see it: orgs, apps, roles, groups, users and admins as
plain values, read from a declaration file or from a realm, and written back as the file's data.

Names are canonical (lower-case org, app and role names; rules in their canonical text); tables
of groups, users and admins are keyed by their lower-cased path or name, which is how the realm
tells them apart; identity providers by their exact issuer. Secrets are never part of it: a
user or admin names the environment variable that holds its password (``password_env``); a
provider has none (an inline key set is public keys only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.realm.directory import SANDBOX_RULE, USERGRID_ROLES, RolesPreset

__all__ = [
    "BUILT_IN_ROLES",
    "FORMAT_VERSION",
    "AdminSpec",
    "AppSpec",
    "GroupSpec",
    "OrgSpec",
    "ProviderSpec",
    "RealmSpec",
    "RoleSpec",
    "UserSpec",
    "file_data",
    "preset_roles",
]

FORMAT_VERSION = 1
BUILT_IN_ROLES = ("admin", "default", "guest")
PROVIDER_DEFAULTS: dict[str, object] = {
    name: value
    for name, value in IdentityProvider(issuer="i", audience="a", jwks_url="https://x/").as_dict()
    .items()
    if name not in ("issuer", "audience", "jwks_url")
}
"""The settings a provider has when the file leaves them out (``export`` leaves them out)."""


@dataclass
class RoleSpec:
    name: str
    inactivity_ms: int = 0
    rules: list[str] = field(default_factory=list)


@dataclass
class GroupSpec:
    path: str
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    """Usernames, as a declaration file may list them (a realm's memberships are on its users)."""


@dataclass
class UserSpec:
    username: str
    email: str | None = None
    password_env: str | None = None
    roles: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    disabled: bool = False
    activated: bool = True


@dataclass
class ProviderSpec:
    """An identity provider (behaviour §8): its settings as ``IdentityProvider.as_dict``."""

    issuer: str
    settings: dict[str, object] = field(default_factory=dict)


@dataclass
class AppSpec:
    name: str
    preset: RolesPreset = "locked"
    """The roles a new app starts with (create_app's ``roles=``); never changes an app."""
    ttl_ms: int | None = None
    refresh_ttl_ms: int | None = None
    """``refreshtokenttl``: how long a refresh-token family lives (None: no refresh tokens)."""
    refresh_grace_ms: int = 0
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    groups: dict[str, GroupSpec] = field(default_factory=dict)
    users: dict[str, UserSpec] = field(default_factory=dict)
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    """By exact issuer (an issuer's case matters)."""


@dataclass
class OrgSpec:
    name: str
    apps: dict[str, AppSpec] = field(default_factory=dict)
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    """The org's own providers, for its admin users; by exact issuer."""


@dataclass
class AdminSpec:
    username: str
    email: str | None = None
    password_env: str | None = None
    orgs: list[str] = field(default_factory=list)
    disabled: bool = False


@dataclass
class RealmSpec:
    orgs: dict[str, OrgSpec] = field(default_factory=dict)
    admins: dict[str, AdminSpec] = field(default_factory=dict)
    admin_refresh: tuple[int | None, int] | None = None
    """Admin users' refresh tokens (``[admin_tokens]``): (family life or None for off, grace);
    None: the file says nothing, and the realm's setting is left as it is."""


def preset_roles(preset: str) -> dict[str, RoleSpec]:
    """The roles (and rules) that ``create_app(roles=preset)`` gives a new app."""
    if preset == "usergrid":
        rules = {name: list(texts) for name, texts in USERGRID_ROLES.items()}
    elif preset == "sandbox":
        rules = {"admin": [], "default": [SANDBOX_RULE], "guest": [SANDBOX_RULE]}
    else:
        rules = {name: [] for name in BUILT_IN_ROLES}
    return {name: RoleSpec(name, 0, texts) for name, texts in rules.items()}


# -- the file's data ------------------------------------------------------------------------


def file_data(spec: RealmSpec) -> dict[str, object]:
    """The declaration file's data for ``spec`` (what ``export`` writes): defaults left out."""
    orgs = {org.name: _org_data(org) for org in spec.orgs.values()}
    admins = {admin.username: _admin_data(admin) for admin in spec.admins.values()}
    data: dict[str, object] = {"version": FORMAT_VERSION, "orgs": orgs}
    if spec.admin_refresh is not None and spec.admin_refresh[0] is not None:
        data["admin_tokens"] = _refresh_data(*spec.admin_refresh)
    return {**data, "admins": admins} if admins else data


def _refresh_data(ttl_ms: int | None, grace_ms: int) -> dict[str, object]:
    """``refreshtokenttl`` and ``refreshtokengrace`` as a file says them (off: neither)."""
    if ttl_ms is None:
        return {}
    return {"refreshtokenttl": ttl_ms, **({"refreshtokengrace": grace_ms} if grace_ms else {})}



def _org_data(org: OrgSpec) -> dict[str, object]:
    data: dict[str, object] = {"apps": {app.name: _app_data(app) for app in org.apps.values()}}
    if org.providers:
        data["identity_providers"] = _providers_data(org.providers)
    return data


def _providers_data(providers: dict[str, ProviderSpec]) -> list[dict[str, object]]:
    """Each provider's settings but those left at their defaults (and none is a secret: an
    inline key set holds public keys only)."""
    return [
        {name: value for name, value in provider.settings.items()
         if value is not None and value != PROVIDER_DEFAULTS.get(name)}
        for provider in providers.values()
    ]


def _app_data(app: AppSpec) -> dict[str, object]:
    data: dict[str, object] = {}
    if app.ttl_ms is not None:
        data["accesstokenttl"] = app.ttl_ms
    data.update(_refresh_data(app.refresh_ttl_ms, app.refresh_grace_ms))
    tables = {
        "roles": {role.name: _role_data(role) for role in app.roles.values()},
        "groups": {group.path: _group_data(group) for group in app.groups.values()},
        "users": {user.username: _user_data(user) for user in app.users.values()},
    }
    data.update({name: table for name, table in tables.items() if table})
    if app.providers:
        data["identity_providers"] = _providers_data(app.providers)
    return data


def _role_data(role: RoleSpec) -> dict[str, object]:
    data: dict[str, object] = {}
    if role.inactivity_ms:
        data["inactivity"] = role.inactivity_ms
    data["rules"] = list(role.rules)
    return data


def _group_data(group: GroupSpec) -> dict[str, object]:
    return _lists(rules=group.rules, roles=group.roles, members=group.members)


def _user_data(user: UserSpec) -> dict[str, object]:
    data: dict[str, object] = {}
    if user.email is not None:
        data["email"] = user.email
    if user.password_env is not None:
        data["password_env"] = user.password_env
    data.update(_lists(roles=user.roles, groups=user.groups, rules=user.rules))
    if user.disabled:
        data["disabled"] = True
    if not user.activated:
        data["activated"] = False
    return data


def _admin_data(admin: AdminSpec) -> dict[str, object]:
    data: dict[str, object] = {}
    if admin.email is not None:
        data["email"] = admin.email
    if admin.password_env is not None:
        data["password_env"] = admin.password_env
    data.update(_lists(orgs=admin.orgs))
    if admin.disabled:
        data["disabled"] = True
    return data


def _lists(**lists: list[str]) -> dict[str, object]:
    """The non-empty lists, each as it is."""
    return {name: list(items) for name, items in lists.items() if items}
