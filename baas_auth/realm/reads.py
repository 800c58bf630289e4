"""Reading the model back, as flows: the orgs, users, groups, admins and clients of a scope, and
what one user holds (its own roles, groups and rules) and what applies to it (the union that
``baas_auth.core.policy`` assembles). Scans read one key range each; no secret or hash leaves here.
"""

from __future__ import annotations

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.policy import user_policy
from baas_auth.errors import ConfigError, StoreError
from baas_auth.model import AdminUser, ClientInfo, Group, Org, Principal, User
from baas_auth.realm.account_directory import _admin_value, _user_value
from baas_auth.realm.cache import MISS
from baas_auth.realm.federated_users import VISITOR_PREFIX
from baas_auth.realm.grants import _group_of, group_value
from baas_auth.realm.lookups import app_of, org_of, user_of
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, get_many, scan
from baas_auth.realm.token_commands import touch_token
from baas_auth.realm.views import fresh_view

__all__ = [
    "effective_rules",
    "get_group",
    "holds_role",
    "list_admins",
    "list_credentials",
    "list_groups",
    "list_orgs",
    "list_users",
    "user_groups",
    "user_roles",
    "user_rules",
]


def list_orgs() -> Flow[list[Org]]:
    rows = yield from scan(record_keys.org_prefix())
    orgs = [rec.decode(rec.OrgRecord, raw) for _, raw in rows]
    return [Org(org.uuid, org.name) for org in orgs]


def list_users(org: str, app: str) -> Flow[list[User]]:
    """Every user of the app, by username (ignoring case)."""
    found = yield from app_of(org, app)
    rows = yield from scan(record_keys.user_prefix(found.org, found.name))
    users = [_user_value(rec.decode(rec.UserRecord, raw)) for _, raw in rows]
    return sorted(users, key=lambda user: (user.username.lower(), user.uuid))


def list_groups(org: str, app: str) -> Flow[list[Group]]:
    """Every group of the app with its rules and roles, by path (ignoring case)."""
    found = yield from app_of(org, app)
    rows = yield from scan(record_keys.group_prefix(found.org, found.name))
    return [group_value(found, rec.decode(rec.GroupRecord, raw)) for _, raw in rows]


def get_group(org: str, app: str, path: str) -> Flow[Group]:
    """The group ``path`` names (``/staff``), or the group of that uuid."""
    found = yield from app_of(org, app)
    return group_value(found, (yield from _group_of(found, path)))


def list_admins() -> Flow[list[AdminUser]]:
    """Every admin user, by username (ignoring case)."""
    rows = yield from scan(record_keys.admin_prefix())
    admins = [_admin_value(rec.decode(rec.AdminRecord, raw)) for _, raw in rows]
    return sorted(admins, key=lambda admin: (admin.username.lower(), admin.uuid))


def list_credentials(org: str, app: str | None) -> Flow[list[ClientInfo]]:
    """The client_ids of an org: all of them (its own and its apps') when ``app`` is None,
    else the app's. Org credentials first, then by app and client_id."""
    org_name = (yield from org_of(org)).name
    app_name = None if app is None else (yield from app_of(org_name, app)).name
    rows = yield from scan(record_keys.client_prefix())
    clients = [rec.decode(rec.ClientRecord, raw) for _, raw in rows]
    chosen = [
        ClientInfo(client.client_id, client.org, client.app)
        for client in clients
        if client.org == org_name and (app_name is None or client.app == app_name)
    ]
    return sorted(chosen, key=lambda info: (info.app is not None, info.app or "", info.client_id))


def user_roles(org: str, app: str, name: str) -> Flow[tuple[str, ...]]:
    """The roles given to the user itself (not those it has through its groups)."""
    user = yield from user_of((yield from app_of(org, app)), name)
    return tuple(user.roles)


def user_rules(org: str, app: str, name: str) -> Flow[tuple[str, ...]]:
    """The rules granted to the user itself."""
    user = yield from user_of((yield from app_of(org, app)), name)
    return tuple(user.rules)


def user_groups(org: str, app: str, name: str) -> Flow[tuple[str, ...]]:
    """The paths of the user's groups, spelled as each group is (a membership of a group
    deleted since keeps its lower-case path)."""
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    groups = yield from _groups_of(found, user)
    spelled = {group.path.lower(): group.path for group in groups}
    return tuple(spelled.get(path.lower(), path) for path in user.groups)


def effective_rules(
    state: RealmState, org: str, app: str, name: str, inactive_ms: int | None
) -> Flow[tuple[str, ...]]:
    """Every rule that applies to the user, each once, in the order the policy assembles them:
    ``get:/users/me``, its own rules, its groups' rules, the rules of the ``default`` role, of
    its roles and of its groups' roles, the rules of roles that lapse last. A role other than
    ``default`` with ``inactivity_ms > 0`` lapses for a token idle longer than that: given a
    token's longest idle gap ``inactive_ms``, the rules of the roles lapsed by then are left
    out. Whether the user may sign in at all (disabled, not activated) is not considered."""
    if inactive_ms is not None and (
        isinstance(inactive_ms, bool) or not isinstance(inactive_ms, int) or inactive_ms < 0
    ):
        raise ConfigError("inactive_ms is a whole number of milliseconds >= 0, or None")
    found = yield from app_of(org, app)
    user = yield from user_of(found, name)
    groups = yield from _groups_of(found, user)
    rows = yield from scan(record_keys.role_prefix(found.org, found.name))
    roles = {role.name: role for role in (rec.decode(rec.RoleRecord, raw) for _, raw in rows)}
    try:
        policy = user_policy(user, roles, groups, state.rules)
    except ConfigError as error:  # checked when granted: the store was changed behind us
        raise StoreError(f"a stored rule does not parse: {error}") from error
    live = [rules for limit, rules in policy.timed if inactive_ms is None or inactive_ms <= limit]
    texts = [str(rule) for rule in (*policy.always, *(rule for rules in live for rule in rules))]
    return tuple(dict.fromkeys(texts))


def _groups_of(app: rec.AppRecord, user: rec.UserRecord) -> Flow[list[rec.GroupRecord]]:
    """The user's groups that exist (one read for all of them)."""
    keys = [record_keys.group_key(app.org, app.name, path) for path in user.groups]
    rows = (yield from get_many(keys)) if keys else []
    return [rec.decode(rec.GroupRecord, raw) for raw in rows if raw is not None]


_DEFAULT_ROLE = "default"  # every active user has it (baas_auth.core.policy)


def holds_role(
    state: RealmState, principal: Principal, org: str, app: str, role: str
) -> Flow[bool]:
    """Whether ``principal`` is an active app user of ``org/app`` holding ``role`` (given to it,
    through a group, or ``default``), the role exists, and it has not lapsed for this token.

    Only app users hold roles: clients and admin users hold none."""
    org, app, role = org.lower(), app.lower(), role.lower()
    now_ms = state.now_ms()
    if principal.kind != "app_user" or principal.uuid is None or not principal.covers(org, app):
        return False
    user = yield from _user_holding(state, org, app, principal.uuid)
    if user is None:
        return False
    group_keys = [record_keys.group_key(org, app, path) for path in user.groups]
    role_raw, *groups = yield from get_many([record_keys.role_key(org, app, role), *group_keys])
    if role_raw is None:  # a role that does not exist is no one's, whatever a record still says
        return False
    names = {_DEFAULT_ROLE, *user.roles}
    for group in groups:
        if group is not None:
            names.update(rec.decode(rec.GroupRecord, group).roles)
    if role not in names:
        return False
    return (yield from _still_live(principal, rec.decode(rec.RoleRecord, role_raw), now_ms))


def _user_holding(state: RealmState, org: str, app: str, uuid: str) -> Flow[rec.UserRecord | None]:
    """The active user whose roles count: the stored one, or the visitor an identity
    provider's token made (its roles and groups are those its token names, remembered under the
    store's generation when the token was admitted; seen under another one: none, refused)."""
    if uuid.startswith(VISITOR_PREFIX):
        view = yield from fresh_view(state)
        visitor = view.visitors.lookup((org, app, uuid))
        return None if visitor is MISS else visitor
    raw = yield from get(record_keys.user_key(org, app, uuid))
    user = None if raw is None else rec.decode(rec.UserRecord, raw)
    if user is None or user.uuid != uuid or user.disabled or not user.activated:
        return None
    return user


def _still_live(principal: Principal, role: rec.RoleRecord, now_ms: int) -> Flow[bool]:
    """A role with ``inactivity_ms`` lapses for a token idle longer than that (behaviour §5.3);
    the token's longest idle gap is what ``touch_token`` reports, as the gate reads it."""
    if role.inactivity_ms <= 0 or role.name == _DEFAULT_ROLE:
        return True
    if principal.token_id is None:
        return False
    inactive = yield from touch_token(principal.token_id, now_ms)
    return inactive is not None and inactive <= role.inactivity_ms
