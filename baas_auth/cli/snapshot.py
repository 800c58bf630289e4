"""Reading a realm as a ``RealmSpec`` (for ``export``, and for ``apply`` to compare against): its
orgs with their apps, roles, groups, users and identity providers, and its admin users. Read
through the Realm's reading calls only; no secret is read."""

from __future__ import annotations

from collections.abc import Iterable

from baas_auth.cli.spec import (
    AdminSpec,
    AppSpec,
    GroupSpec,
    OrgSpec,
    ProviderSpec,
    RealmSpec,
    RoleSpec,
    UserSpec,
)
from baas_auth.model import App
from baas_auth.realm import Realm

__all__ = ["exportable", "read_realm"]


def read_realm(realm: Realm, orgs: Iterable[str] | None = None) -> RealmSpec:
    """Every org of the realm (or those of ``orgs`` that exist) and every admin user."""
    existing = [org.name for org in realm.list_orgs()]
    wanted = existing if orgs is None else [name for name in orgs if name in existing]
    spec = RealmSpec()
    for name in wanted:
        apps = {app.name: _app(realm, app) for app in realm.list_apps(name)}
        spec.orgs[name] = OrgSpec(name, apps, _providers(realm, name, None))
    for admin in realm.list_admins():
        spec.admins[admin.username.lower()] = AdminSpec(
            admin.username, admin.email, None, list(admin.orgs), admin.disabled
        )
    settings = realm.admin_refresh_settings()
    spec.admin_refresh = (settings.refresh_token_ttl_ms, settings.refresh_grace_ms)
    return spec


def _app(realm: Realm, app: App) -> AppSpec:
    spec = AppSpec(
        app.name,
        ttl_ms=app.access_token_ttl_ms,
        refresh_ttl_ms=app.refresh_token_ttl_ms,
        refresh_grace_ms=app.refresh_grace_ms,
    )
    for role in realm.list_roles(app.org, app.name):
        spec.roles[role.name] = RoleSpec(role.name, role.inactivity_ms, list(role.rules))
    for group in realm.list_groups(app.org, app.name):
        rules, roles = list(group.rules), list(group.roles)
        spec.groups[group.path.lower()] = GroupSpec(group.path, rules, roles)
    for user in realm.list_users(app.org, app.name):
        held = [realm.user_roles, realm.user_groups, realm.user_rules]
        roles, groups, rules = (list(read(app.org, app.name, user.uuid)) for read in held)
        spec.users[user.username.lower()] = UserSpec(
            user.username, user.email, None, roles, groups, rules, user.disabled, user.activated
        )
    spec.providers = _providers(realm, app.org, app.name)
    return spec


def _providers(realm: Realm, org: str, app: str | None) -> dict[str, ProviderSpec]:
    return {
        provider.issuer: ProviderSpec(provider.issuer, provider.as_dict())
        for provider in realm.identity_providers(org, app)
    }


def exportable(spec: RealmSpec) -> RealmSpec:
    """``spec`` without the names of roles and groups deleted since they were given (the realm
    keeps those names, which count again if a role or group of that name is made)."""
    for org in spec.orgs.values():
        for app in org.apps.values():
            for group in app.groups.values():
                group.roles = [role for role in group.roles if role in app.roles]
            for user in app.users.values():
                user.roles = [role for role in user.roles if role in app.roles]
                user.groups = [
                    app.groups[path.lower()].path for path in user.groups
                    if path.lower() in app.groups
                ]
    return spec
