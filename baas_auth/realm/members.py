"""Who holds what, read the other way round: the users given a role, the groups given a role,
the members of a group (the management API's ``/roles/{role}/users``, ``/roles/{role}/groups``
and ``/groups/{group}/users``). Each reads one key range; no hash leaves here."""

from __future__ import annotations

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.model import Group, User
from baas_auth.realm.account_directory import _user_value
from baas_auth.realm.grants import _group_of, _role_of, group_value
from baas_auth.realm.lookups import app_of
from baas_auth.realm.store_commands import Flow, scan

__all__ = ["group_users", "role_groups", "role_users"]


def role_users(org: str, app: str, role: str) -> Flow[list[User]]:
    """The users the role is given to directly (not through a group), by username."""
    found = yield from app_of(org, app)
    name = (yield from _role_of(found, role)).name
    users = yield from _users(found)
    return [_user_value(user) for user in users if name in user.roles]


def role_groups(org: str, app: str, role: str) -> Flow[list[Group]]:
    """The groups the role is given to, by path."""
    found = yield from app_of(org, app)
    name = (yield from _role_of(found, role)).name
    rows = yield from scan(record_keys.group_prefix(found.org, found.name))
    groups = [rec.decode(rec.GroupRecord, raw) for _, raw in rows]
    return [group_value(found, group) for group in groups if name in group.roles]


def group_users(org: str, app: str, path: str) -> Flow[list[User]]:
    """The members of the group, by username."""
    found = yield from app_of(org, app)
    group = yield from _group_of(found, path)
    users = yield from _users(found)
    return [_user_value(user) for user in users if group.path.lower() in user.groups]


def _users(app: rec.AppRecord) -> Flow[list[rec.UserRecord]]:
    rows = yield from scan(record_keys.user_prefix(app.org, app.name))
    users = [rec.decode(rec.UserRecord, raw) for _, raw in rows]
    return sorted(users, key=lambda user: (user.username.lower(), user.uuid))
