"""Roles, groups, and the rules granted to roles, users and groups (behaviour §5.3), as flows.

Rules are parsed when granted (a bad rule is a ``ConfigError`` here, never at request time) and
stored in their canonical text.
"""

from __future__ import annotations

from collections.abc import Callable

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.rules import Rule
from baas_auth.errors import ConfigError, ConflictError, NotFoundError
from baas_auth.model import Group, Role
from baas_auth.realm.directory import new_uuid
from baas_auth.realm.lookups import app_of, load, user_of
from baas_auth.realm.store_commands import Flow, create, delete, get, put, scan

__all__ = [
    "change_membership",
    "change_roles",
    "change_rules",
    "create_group",
    "create_role",
    "delete_group",
    "delete_role",
    "get_role",
    "group_uuid",
    "group_value",
    "list_roles",
    "role_uuid",
    "role_value",
]


def _one_target(**targets: str | None) -> tuple[str, str]:
    chosen = [(kind, name) for kind, name in targets.items() if name is not None]
    if len(chosen) != 1:
        raise ConfigError(f"name exactly one of {', '.join(f'{k}=' for k in targets)}")
    return chosen[0]


def _change(items: list[str], item: str, *, add: bool) -> bool:
    """Add ``item`` to ``items`` (or remove it); whether anything changed."""
    if (item in items) == add:
        return False
    if add:
        items.append(item)
    else:
        items.remove(item)
    return True


def _role_of(app: rec.AppRecord, name: str) -> Flow[rec.RoleRecord]:
    """The role ``name`` names in ``app``: by its name, else by its uuid (in this app only)."""
    if not ids.is_uuid(name.lower()):
        lowered = ids.role_name(name)
        key = record_keys.role_key(app.org, app.name, lowered)
        return (
            yield from load(rec.RoleRecord, key, f"no role {lowered!r} in {app.org}/{app.name}")
        )
    return (
        yield from _by_uuid(
            rec.RoleRecord,
            record_keys.role_key(app.org, app.name, name.lower()),
            record_keys.role_prefix(app.org, app.name),
            lambda role: role_uuid(app, role).lower() == name.lower(),
            f"no role {name!r} in {app.org}/{app.name}",
        )
    )


def _group_of(app: rec.AppRecord, path: str) -> Flow[rec.GroupRecord]:
    """The group ``path`` names in ``app``: by its path, else (``/<uuid>`` or ``<uuid>``) by
    its uuid (in this app only)."""
    missing = f"no group {path!r} in {app.org}/{app.name}"
    bare = (path[1:] if path.startswith("/") else path).lower()
    if not ids.is_uuid(bare):
        key = record_keys.group_key(app.org, app.name, ids.group_path(path))
        return (yield from load(rec.GroupRecord, key, missing))
    return (
        yield from _by_uuid(
            rec.GroupRecord,
            record_keys.group_key(app.org, app.name, "/" + bare),
            record_keys.group_prefix(app.org, app.name),
            lambda group: group_uuid(app, group).lower() == bare,
            missing,
        )
    )


def _by_uuid(
    kind: type[rec.R], named_key: str, prefix: str, has_uuid: Callable[[rec.R], bool], missing: str
) -> Flow[rec.R]:
    """A role or group sent as a uuid: the one whose name is that text (an exact key, which
    wins), else the one of the app's (a scan of its key range) with that uuid."""
    raw = yield from get(named_key)
    if raw is not None:
        return rec.decode(kind, raw)
    for _, row in (yield from scan(prefix)):
        record = rec.decode(kind, row)
        if has_uuid(record):
            return record
    raise NotFoundError(missing)


def role_uuid(app: rec.AppRecord, role: rec.RoleRecord) -> str:
    """The role's uuid: the one stored with it (imported, or made with it), else (a record of
    an earlier version) one derived from the app's uuid and its name."""
    return role.uuid or ids.derived_uuid(app.uuid, "role", role.name)


def group_uuid(app: rec.AppRecord, group: rec.GroupRecord) -> str:
    """The group's uuid: the one stored with it, else (a record of an earlier version) one
    derived from the app's uuid and its path."""
    return group.uuid or ids.derived_uuid(app.uuid, "group", group.path)


def role_value(app: rec.AppRecord, role: rec.RoleRecord) -> Role:
    return Role(role.name, role.inactivity_ms, tuple(role.rules), role_uuid(app, role))


def group_value(app: rec.AppRecord, group: rec.GroupRecord) -> Group:
    return Group(group.path, tuple(group.rules), tuple(group.roles), group_uuid(app, group))


def _save(
    app: rec.AppRecord, record: rec.RoleRecord | rec.GroupRecord | rec.UserRecord
) -> Flow[None]:
    if isinstance(record, rec.RoleRecord):
        key = record_keys.role_key(app.org, app.name, record.name)
    elif isinstance(record, rec.GroupRecord):
        key = record_keys.group_key(app.org, app.name, record.path)
    else:
        key = record_keys.user_key(app.org, app.name, record.uuid)
    yield from put(key, rec.encode(record))


def create_role(org: str, app: str, name: str, inactivity_ms: int) -> Flow[Role]:
    found = yield from app_of(org, app)
    if isinstance(inactivity_ms, bool) or not isinstance(inactivity_ms, int) or inactivity_ms < 0:
        raise ConfigError("inactivity_ms is a whole number of milliseconds >= 0")
    role = rec.RoleRecord(ids.role_name(name), inactivity_ms, [], new_uuid())
    key = record_keys.role_key(found.org, found.name, role.name)
    if not (yield from create(key, rec.encode(role))):
        raise ConflictError(f"the role {role.name!r} exists")
    return role_value(found, role)


def delete_role(org: str, app: str, name: str) -> Flow[None]:
    found = yield from app_of(org, app)
    role = yield from _role_of(found, name)
    yield from delete(record_keys.role_key(found.org, found.name, role.name))


def get_role(org: str, app: str, name: str) -> Flow[Role]:
    found = yield from app_of(org, app)
    return role_value(found, (yield from _role_of(found, name)))


def list_roles(org: str, app: str) -> Flow[list[Role]]:
    found = yield from app_of(org, app)
    rows = yield from scan(record_keys.role_prefix(found.org, found.name))
    roles = [rec.decode(rec.RoleRecord, raw) for _, raw in rows]
    return [role_value(found, role) for role in roles]


def change_rules(
    org: str, app: str, rule: str, *, add: bool, **target: str | None
) -> Flow[tuple[str, bool]]:
    """Grant (or revoke) a rule to exactly one role, user or group; returns its canonical text
    and whether anything changed."""
    text = str(Rule.parse(rule))
    kind, name = _one_target(**target)
    found = yield from app_of(org, app)
    holder: rec.RoleRecord | rec.UserRecord | rec.GroupRecord
    if kind == "role":
        holder = yield from _role_of(found, name)
    elif kind == "user":
        holder = yield from user_of(found, name)
    else:
        holder = yield from _group_of(found, name)
    changed = _change(holder.rules, text, add=add)
    yield from _save(found, holder)
    return text, changed


def change_roles(org: str, app: str, role: str, *, add: bool, **target: str | None) -> Flow[bool]:
    """Give a role to (or take it from) exactly one user or group."""
    kind, name = _one_target(**target)
    found = yield from app_of(org, app)
    role_name = (yield from _role_of(found, role)).name if add else (yield from _held(found, role))
    holder: rec.UserRecord | rec.GroupRecord
    if kind == "user":
        holder = yield from user_of(found, name)
    else:
        holder = yield from _group_of(found, name)
    changed = _change(holder.roles, role_name, add=add)
    yield from _save(found, holder)
    return changed


def _held(app: rec.AppRecord, role: str) -> Flow[str]:
    """The name of a role to take away: the role's (by name or uuid), or, for a role deleted
    since, the name given (a holder may still list it)."""
    try:
        return (yield from _role_of(app, role)).name
    except NotFoundError:
        return ids.role_name(role)


def _joined(app: rec.AppRecord, path: str) -> Flow[str]:
    """The path of a group to leave: the group's (by path or uuid), or, for a group deleted
    since, the path given."""
    try:
        return (yield from _group_of(app, path)).path
    except NotFoundError:
        return ids.group_path(path)


def create_group(org: str, app: str, path: str) -> Flow[Group]:
    found = yield from app_of(org, app)
    group = rec.GroupRecord(ids.group_path(path), uuid=new_uuid())
    key = record_keys.group_key(found.org, found.name, group.path)
    if not (yield from create(key, rec.encode(group))):
        raise ConflictError(f"the group {group.path!r} exists")
    return group_value(found, group)


def delete_group(org: str, app: str, path: str) -> Flow[None]:
    found = yield from app_of(org, app)
    group = yield from _group_of(found, path)
    yield from delete(record_keys.group_key(found.org, found.name, group.path))


def change_membership(org: str, app: str, path: str, name: str, *, add: bool) -> Flow[bool]:
    """Make a user a member of a group (it gains the group's rules and roles), or not."""
    found = yield from app_of(org, app)
    group_path = (
        (yield from _group_of(found, path)).path if add else (yield from _joined(found, path))
    )
    user = yield from user_of(found, name)
    changed = _change(user.groups, group_path.lower(), add=add)
    yield from _save(found, user)
    return changed
