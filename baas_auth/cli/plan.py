"""What ``apply`` must change so that a realm holds what a declaration file says: a list of
changes, computed in full (and every reference and password checked) before any is made.

Without ``prune`` nothing is taken away: missing things are made, rules, roles and memberships
added, and the plain values (accesstokenttl, a role's inactivity, disabled, activated) set.
With it, for each app of the file, rules, role assignments and memberships of the roles, groups
and users it lists are exactly the file's, and its roles and groups not in the file are
deleted, but for the built-in roles (admin, default, guest), and its identity providers (and
those of each org of the file) not in the file are removed. Users, admins, orgs and apps are
never deleted. A provider whose settings differ is removed and added again, in one change.
"""

from __future__ import annotations

from collections.abc import Mapping

from baas_auth.cli.changes import Change, Run, calling, recreate_role, replace_provider
from baas_auth.cli.manifest import ManifestError
from baas_auth.cli.spec import (
    BUILT_IN_ROLES,
    AdminSpec,
    AppSpec,
    OrgSpec,
    ProviderSpec,
    RealmSpec,
    RoleSpec,
    UserSpec,
    preset_roles,
)

__all__ = ["Planner"]

class Planner:
    """Compares a declaration (``desired``) with what a realm holds (``current``)."""

    def __init__(
        self,
        current: RealmSpec,
        *,
        prune: bool,
        environ: Mapping[str, str],
        min_password_length: int,
        secrets_needed: bool = True,
    ) -> None:
        self.current = current
        self.prune = prune
        self.environ = environ
        self.min_password_length = min_password_length
        self.secrets_needed = secrets_needed
        self.changes: list[Change] = []
        self.scope = ""

    def plan(self, desired: RealmSpec, existing_orgs: set[str]) -> list[Change]:
        for org in desired.orgs.values():
            self._org(org, self.current.orgs.get(org.name))
        for key, admin in desired.admins.items():
            self._admin(admin, self.current.admins.get(key), existing_orgs | set(desired.orgs))
        self._admin_refresh(desired.admin_refresh, self.current.admin_refresh)
        return self.changes

    def _admin_refresh(
        self, wanted: tuple[int | None, int] | None, held: tuple[int | None, int] | None
    ) -> None:
        """Admin users' refresh tokens, when the file has ``[admin_tokens]`` and it differs."""
        if wanted is None:
            return
        wanted = (wanted[0], wanted[1] if wanted[0] else 0)
        held = (None, 0) if held is None else (held[0], held[1] if held[0] else 0)
        if wanted == held:
            return
        text = f"admin users: refresh tokens {_refresh(*held)} -> {_refresh(*wanted)}"
        run = calling("set_admin_refresh_token_ttl", wanted[0], grace_ms=wanted[1])
        self._add("~", "admin", text, run)

    def _add(self, op: str, kind: str, text: str, run: Run) -> None:
        self.changes.append(Change(op, kind, text, run))

    def _org(self, org: OrgSpec, have: OrgSpec | None) -> None:
        if have is None:
            text = f"org {org.name} (and its app {org.name}/sandbox)"
            self._add("+", "org", text, calling("create_org", org.name))
            have = OrgSpec(org.name, {"sandbox": AppSpec("sandbox", roles=preset_roles("sandbox"))})
        for app in org.apps.values():
            self._app(org.name, app, have.apps.get(app.name))
        self.scope = f"org {org.name}"
        self._providers(org.name, None, org.providers, have.providers)

    def _app(self, org: str, app: AppSpec, have: AppSpec | None) -> None:
        self.scope = f"{org}/{app.name}"
        where = f"orgs.{org}.apps.{app.name}"
        if have is None:
            run = calling("create_app", org, app.name, roles=app.preset,
                           access_token_ttl_ms=app.ttl_ms)
            ttl = "" if app.ttl_ms is None else f", accesstokenttl {app.ttl_ms}"
            self._add("+", "app", f"app {self.scope} (preset {app.preset}{ttl})", run)
            have = AppSpec(app.name, ttl_ms=app.ttl_ms, roles=preset_roles(app.preset))
        elif have.ttl_ms != app.ttl_ms:
            text = f"app {self.scope}: accesstokenttl {_ttl(have.ttl_ms)} -> {_ttl(app.ttl_ms)}"
            self._add("~", "app", text, calling("set_access_token_ttl", org, app.name, app.ttl_ms))
        self._refresh(org, app, have)
        self._check_references(app, have, where)
        self._roles(org, app, have)
        self._groups(org, app, have)
        self._users(org, app, have, where)
        self._providers(org, app.name, app.providers, have.providers)
        if self.prune:
            self._prune(org, app, have)

    def _refresh(self, org: str, app: AppSpec, have: AppSpec) -> None:
        """The app's refresh-token setting, when the file's differs (left out: off)."""
        wanted = (app.refresh_ttl_ms, app.refresh_grace_ms if app.refresh_ttl_ms else 0)
        held = (have.refresh_ttl_ms, have.refresh_grace_ms if have.refresh_ttl_ms else 0)
        if wanted == held:
            return
        text = f"app {self.scope}: refresh tokens {_refresh(*held)} -> {_refresh(*wanted)}"
        run = calling("set_refresh_token_ttl", org, app.name, wanted[0], grace_ms=wanted[1])
        self._add("~", "app", text, run)

    def _check_references(self, app: AppSpec, have: AppSpec, where: str) -> None:
        """Every role, group and member the file names exists, in the file or (without
        ``prune``, which would delete it) in the realm."""
        kept = set(BUILT_IN_ROLES) if self.prune else set(have.roles)
        roles = set(app.roles) | (kept & set(have.roles))
        groups = set(app.groups) | (set() if self.prune else set(have.groups))
        users = set(app.users) | set(have.users)
        named = [(f"{where}.groups.{g.path}.roles", g.roles, roles) for g in app.groups.values()]
        named += [(f"{where}.groups.{g.path}.members", [m.lower() for m in g.members], users)
                  for g in app.groups.values()]
        for user in app.users.values():
            named.append((f"{where}.users.{user.username}.roles", user.roles, roles))
            lowered = [path.lower() for path in user.groups]
            named.append((f"{where}.users.{user.username}.groups", lowered, groups))
        elsewhere = " (--prune deletes the others)" if self.prune else f" or in {self.scope}"
        for place, names, known in named:
            for name in names:
                if name not in known:
                    raise ManifestError(f"{place}: no {name!r} in the file{elsewhere}")

    def _roles(self, org: str, app: AppSpec, have: AppSpec) -> None:
        for role in app.roles.values():
            held = have.roles.get(role.name)
            if held is None:
                ms = role.inactivity_ms
                lapse = f" (lapses after {ms} ms idle)" if ms else ""
                run = calling("create_role", org, app.name, role.name,
                               inactivity_ms=role.inactivity_ms)
                self._add("+", "role", f"role {role.name} in {self.scope}{lapse}", run)
                held = RoleSpec(role.name, role.inactivity_ms)
            elif held.inactivity_ms != role.inactivity_ms:
                text = (f"role {role.name} in {self.scope}: inactivity {held.inactivity_ms} -> "
                        f"{role.inactivity_ms} ms (deleted and made again, its rules kept)")
                self._add("~", "role", text, recreate_role(org, app.name, role, held.rules))
            self._rules(org, app.name, ("role", role.name), role.rules, held.rules)

    def _groups(self, org: str, app: AppSpec, have: AppSpec) -> None:
        for key, group in app.groups.items():
            held = have.groups.get(key)
            if held is None:
                run = calling("create_group", org, app.name, group.path)
                self._add("+", "group", f"group {group.path} in {self.scope}", run)
            target = ("group", group.path)
            self._rules(org, app.name, target, group.rules, [] if held is None else held.rules)
            self._assign(org, app.name, target, group.roles, [] if held is None else held.roles)

    def _users(self, org: str, app: AppSpec, have: AppSpec, where: str) -> None:
        wanted = {key: list(user.groups) for key, user in app.users.items()}
        for group in app.groups.values():
            for member in group.members:
                wanted.setdefault(member.lower(), []).append(group.path)
        for key, user in app.users.items():
            held = have.users.get(key)
            if held is None:
                held = self._new_user(org, app.name, user, f"{where}.users.{user.username}")
            elif user.email is not None and user.email.lower() != (held.email or "").lower():
                raise ManifestError(
                    f"{where}.users.{user.username}.email: the user's email is "
                    f"{held.email or 'none'}; an email cannot change (delete-user, then apply)"
                )
            self._account_state(org, app.name, user, held)
            target = ("user", user.username)
            self._rules(org, app.name, target, user.rules, held.rules)
            self._assign(org, app.name, target, user.roles, held.roles)
        for key, paths in wanted.items():
            held = have.users.get(key) or UserSpec(key)
            name = app.users[key].username if key in app.users else held.username
            self._memberships(org, app.name, name, paths, held.groups, prune=key in app.users)

    def _new_user(self, org: str, app: str, user: UserSpec, where: str) -> UserSpec:
        password, shown = self._password(user.password_env, where)
        run = calling("create_user", org, app, user.username, password=password,
                       email=user.email, activated=user.activated)
        self._add("+", "user", f"user {user.username} in {self.scope} ({shown})", run)
        return UserSpec(user.username, user.email, activated=user.activated)

    def _account_state(self, org: str, app: str, user: UserSpec, held: UserSpec) -> None:
        changed = [
            f"{name} {_yes(before)} -> {_yes(after)}"
            for name, before, after in (
                ("disabled", held.disabled, user.disabled),
                ("activated", held.activated, user.activated),
            )
            if before != after
        ]
        if changed:
            run = calling("update_user", org, app, user.username, disabled=user.disabled,
                           activated=user.activated)
            text = f"user {user.username} in {self.scope}: {', '.join(changed)}"
            self._add("~", "user", text, run)

    def _rules(
        self, org: str, app: str, target: tuple[str, str], wanted: list[str], held: list[str]
    ) -> None:
        kind, name = target
        for rule in wanted:
            if rule not in held:
                text = f"rule {rule} to {kind} {name} in {self.scope}"
                self._add("+", "rule", text, calling("grant", org, app, rule, **{kind: name}))
        for rule in held if self.prune else ():
            if rule not in wanted:
                text = f"rule {rule} from {kind} {name} in {self.scope}"
                run = calling("revoke_grant", org, app, rule, **{kind: name})
                self._add("-", "rule", text, run)

    def _assign(
        self, org: str, app: str, target: tuple[str, str], wanted: list[str], held: list[str]
    ) -> None:
        kind, name = target
        for role in wanted:
            if role not in held:
                text = f"role {role} to {kind} {name} in {self.scope}"
                run = calling("assign_role", org, app, role, **{kind: name})
                self._add("+", "assignment", text, run)
        for role in held if self.prune else ():
            if role not in wanted:
                text = f"role {role} from {kind} {name} in {self.scope}"
                run = calling("unassign_role", org, app, role, **{kind: name})
                self._add("-", "assignment", text, run)

    def _memberships(
        self, org: str, app: str, user: str, wanted: list[str], held: list[str], *, prune: bool
    ) -> None:
        held_keys = {path.lower() for path in held}
        wanted_keys: dict[str, str] = {}
        for path in wanted:
            wanted_keys.setdefault(path.lower(), path)
        for key, path in wanted_keys.items():
            if key not in held_keys:
                run = calling("add_to_group", org, app, path, user)
                self._add("+", "membership", f"{user} to group {path} in {self.scope}", run)
        for path in held if self.prune and prune else ():
            if path.lower() not in wanted_keys:
                run = calling("remove_from_group", org, app, path, user)
                self._add("-", "membership", f"{user} from group {path} in {self.scope}", run)

    def _prune(self, org: str, app: AppSpec, have: AppSpec) -> None:
        for key, group in have.groups.items():
            if key not in app.groups:
                run = calling("delete_group", org, app.name, group.path)
                self._add("-", "group", f"group {group.path} in {self.scope}", run)
        for name in have.roles:
            if name not in app.roles and name not in BUILT_IN_ROLES:
                run = calling("delete_role", org, app.name, name)
                self._add("-", "role", f"role {name} in {self.scope}", run)

    def _providers(
        self,
        org: str,
        app: str | None,
        wanted: dict[str, ProviderSpec],
        held: dict[str, ProviderSpec],
    ) -> None:
        """Providers made, changed (removed and added again, in one change) and, with
        ``prune``, removed; by exact issuer."""
        for issuer, provider in wanted.items():
            have = held.get(issuer)
            if have is None:
                run = calling("add_identity_provider", org, app, **provider.settings)
                self._add("+", "provider", f"identity provider {issuer} in {self.scope}", run)
            elif have.settings != provider.settings:
                changed = sorted(name for name, value in provider.settings.items()
                                 if have.settings.get(name) != value)
                text = f"identity provider {issuer} in {self.scope}: {', '.join(changed)}"
                self._add("~", "provider", text, replace_provider(org, app, provider.settings))
        for issuer in held if self.prune else ():
            if issuer not in wanted:
                run = calling("remove_identity_provider", org, app, issuer)
                self._add("-", "provider", f"identity provider {issuer} in {self.scope}", run)

    def _admin(self, admin: AdminSpec, held: AdminSpec | None, orgs: set[str]) -> None:
        where = f"admins.{admin.username}"
        for org in admin.orgs:
            if org not in orgs:
                raise ManifestError(f"{where}.orgs: no organization {org!r} in the realm or file")
        if held is None:
            password, shown = self._password(admin.password_env, where)
            run = calling("create_admin", admin.username, password=password, orgs=admin.orgs,
                           email=admin.email)
            of = f"admin of {', '.join(admin.orgs)}, " if admin.orgs else ""
            self._add("+", "admin", f"admin user {admin.username} ({of}{shown})", run)
            held = AdminSpec(admin.username, admin.email, orgs=list(admin.orgs))
        elif admin.email is not None and admin.email.lower() != (held.email or "").lower():
            raise ManifestError(
                f"{where}.email: the admin user's email is {held.email or 'none'}; an email "
                "cannot change"
            )
        for org in admin.orgs:
            if org not in held.orgs:
                run = calling("add_admin_to_org", admin.username, org)
                self._add("+", "admin-org", f"admin user {admin.username} to org {org}", run)
        if held.disabled != admin.disabled:
            run = calling("update_admin", admin.username, disabled=admin.disabled)
            text = f"admin user {admin.username}: disabled {_yes(held.disabled)} -> " \
                   f"{_yes(admin.disabled)}"
            self._add("~", "admin", text, run)

    def _password(self, variable: str | None, where: str) -> tuple[str | None, str]:
        """The password in ``$variable``, and how the plan shows it (never the password)."""
        if variable is None:
            return None, "no password"
        password = self.environ.get(variable)
        if not password and not self.secrets_needed:
            # A dry run shows the plan; the secret is needed only by the run that makes it.
            return None, f"password from ${variable}, not set now: apply needs it"
        if not password:
            raise ManifestError(f"{where}.password_env: ${variable} is not set (or empty)")
        if len(password) < self.min_password_length:
            raise ManifestError(
                f"{where}.password_env: ${variable} is shorter than "
                f"{self.min_password_length} characters"
            )
        return password, f"password from ${variable}"


def _ttl(ttl_ms: int | None) -> str:
    return "none" if ttl_ms is None else f"{ttl_ms}"


def _refresh(ttl_ms: int | None, grace_ms: int) -> str:
    if ttl_ms is None:
        return "off"
    return f"{ttl_ms} ms" + (f", grace {grace_ms} ms" if grace_ms else "")


def _yes(value: bool) -> str:
    return "yes" if value else "no"
