"""Roles, groups and permission grants of an application (behaviour §5.3).

Rules are parsed when granted (a bad rule is a ``ConfigError`` here, never at request time) and
stored in their canonical text. Only sequencing against the store.
"""

from __future__ import annotations

from baas_auth import records as rec
from baas_auth.directory import Directory
from baas_auth.errors import ConfigError, ConflictError
from baas_auth.model import Group, Role
from baas_auth.permissions import Rule

__all__ = ["RoleAdmin"]


def _one_target(**targets: str | None) -> tuple[str, str]:
    chosen = [(kind, name) for kind, name in targets.items() if name is not None]
    if len(chosen) != 1:
        raise ConfigError(f"name exactly one of {', '.join(f'{k}=' for k in targets)}")
    return chosen[0]


def _add(items: list[str], item: str) -> bool:
    if item in items:
        return False
    items.append(item)
    return True


def _remove(items: list[str], item: str) -> bool:
    if item not in items:
        return False
    items.remove(item)
    return True


class RoleAdmin(Directory):
    """Roles, groups, and the rules granted to roles, users and groups."""

    def _role(self, app: rec.AppRecord, name: str) -> rec.RoleRecord:
        role = rec.role_name(name)
        key = rec.role_key(app.org, app.name, role)
        return self._load(rec.RoleRecord, key, f"no role {role!r} in {app.org}/{app.name}")

    def _group(self, app: rec.AppRecord, path: str) -> rec.GroupRecord:
        key = rec.group_key(app.org, app.name, rec.group_path(path))
        return self._load(rec.GroupRecord, key, f"no group {path!r} in {app.org}/{app.name}")

    def _save_role(self, app: rec.AppRecord, role: rec.RoleRecord) -> None:
        self.store.put(rec.role_key(app.org, app.name, role.name), rec.encode(role))

    def _save_group(self, app: rec.AppRecord, group: rec.GroupRecord) -> None:
        self.store.put(rec.group_key(app.org, app.name, group.path), rec.encode(group))

    def _save_user(self, app: rec.AppRecord, user: rec.UserRecord) -> None:
        self.store.put(rec.user_key(app.org, app.name, user.uuid), rec.encode(user))

    def create_role(self, org: str, app: str, name: str, *, inactivity_ms: int = 0) -> Role:
        """Create a role; with ``inactivity_ms > 0`` it leaves tokens idle for longer than that."""
        found = self._app(org, app)
        if (
            isinstance(inactivity_ms, bool)
            or not isinstance(inactivity_ms, int)
            or inactivity_ms < 0
        ):
            raise ConfigError("inactivity_ms is a whole number of milliseconds >= 0")
        role = rec.RoleRecord(rec.role_name(name), inactivity_ms, [])
        if not self.store.create(rec.role_key(found.org, found.name, role.name), rec.encode(role)):
            raise ConflictError(f"the role {role.name!r} exists")
        return Role(role.name, role.inactivity_ms)

    def delete_role(self, org: str, app: str, name: str) -> None:
        """Delete a role; deleting ``guest`` makes the app refuse anonymous requests."""
        found = self._app(org, app)
        role = self._role(found, name)
        self.store.delete(rec.role_key(found.org, found.name, role.name))

    def get_role(self, org: str, app: str, name: str) -> Role:
        role = self._role(self._app(org, app), name)
        return Role(role.name, role.inactivity_ms, tuple(role.rules))

    def list_roles(self, org: str, app: str) -> list[Role]:
        found = self._app(org, app)
        roles = [
            rec.decode(rec.RoleRecord, raw)
            for _, raw in self.store.scan(rec.role_prefix(found.org, found.name))
        ]
        return [Role(r.name, r.inactivity_ms, tuple(r.rules)) for r in roles]

    def grant(
        self,
        org: str,
        app: str,
        rule: str,
        *,
        role: str | None = None,
        user: str | None = None,
        group: str | None = None,
    ) -> str:
        """Grant a rule such as ``get,put:/books/**``; returns its canonical text."""
        text = str(Rule.parse(rule))
        self._change_rules(org, app, text, add=True, role=role, user=user, group=group)
        return text

    def revoke_grant(
        self,
        org: str,
        app: str,
        rule: str,
        *,
        role: str | None = None,
        user: str | None = None,
        group: str | None = None,
    ) -> bool:
        """Take a rule back (compared in canonical form); False if it was not granted."""
        text = str(Rule.parse(rule))
        return self._change_rules(org, app, text, add=False, role=role, user=user, group=group)

    def _change_rules(
        self, org: str, app: str, text: str, *, add: bool, **target: str | None
    ) -> bool:
        kind, name = _one_target(**target)
        found = self._app(org, app)
        change = _add if add else _remove
        if kind == "role":
            role = self._role(found, name)
            changed = change(role.rules, text)
            self._save_role(found, role)
        elif kind == "user":
            user = self._user(found, name)
            changed = change(user.rules, text)
            self._save_user(found, user)
        else:
            group = self._group(found, name)
            changed = change(group.rules, text)
            self._save_group(found, group)
        return changed

    def assign_role(
        self, org: str, app: str, role: str, *, user: str | None = None, group: str | None = None
    ) -> None:
        """Give a role to a user or a group."""
        self._change_roles(org, app, role, add=True, user=user, group=group)

    def unassign_role(
        self, org: str, app: str, role: str, *, user: str | None = None, group: str | None = None
    ) -> bool:
        """Take a role from a user or a group; False if it did not have it."""
        return self._change_roles(org, app, role, add=False, user=user, group=group)

    def _change_roles(
        self, org: str, app: str, role: str, *, add: bool, **target: str | None
    ) -> bool:
        kind, name = _one_target(**target)
        found = self._app(org, app)
        role_name = self._role(found, role).name if add else rec.role_name(role)
        change = _add if add else _remove
        if kind == "user":
            user = self._user(found, name)
            changed = change(user.roles, role_name)
            self._save_user(found, user)
        else:
            group = self._group(found, name)
            changed = change(group.roles, role_name)
            self._save_group(found, group)
        return changed

    def create_group(self, org: str, app: str, path: str) -> Group:
        """Create a group named by a path such as ``/staff`` (unique ignoring case)."""
        found = self._app(org, app)
        group = rec.GroupRecord(rec.group_path(path))
        if not self.store.create(
            rec.group_key(found.org, found.name, group.path), rec.encode(group)
        ):
            raise ConflictError(f"the group {group.path!r} exists")
        return Group(group.path)

    def delete_group(self, org: str, app: str, path: str) -> None:
        found = self._app(org, app)
        group = self._group(found, path)
        self.store.delete(rec.group_key(found.org, found.name, group.path))

    def add_to_group(self, org: str, app: str, path: str, username: str) -> None:
        """Make a user a member of a group: it gains the group's rules and roles."""
        self._change_membership(org, app, path, username, add=True)

    def remove_from_group(self, org: str, app: str, path: str, username: str) -> bool:
        return self._change_membership(org, app, path, username, add=False)

    def _change_membership(
        self, org: str, app: str, path: str, username: str, *, add: bool
    ) -> bool:
        found = self._app(org, app)
        group = self._group(found, path) if add else rec.GroupRecord(rec.group_path(path))
        user = self._user(found, username)
        changed = (_add if add else _remove)(user.groups, group.path.lower())
        self._save_user(found, user)
        return changed
