"""Reading the directory through the snapshot of the current generation.

Each reader answers from the snapshot when it holds the record, and otherwise loads it (one
store command) and remembers it there. ``fresh_view`` reads the generation; ``view_for`` takes
one that came with a token lookup, so the hot path costs no extra round trip.
"""

from __future__ import annotations

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.permissions import EMPTY_MATCHER, Matcher, RuleCache
from baas_auth.core.policy import UserPolicy, user_policy
from baas_auth.core.rules import Rule
from baas_auth.errors import ConfigError, StoreError
from baas_auth.realm.cache import MISS, Snapshot
from baas_auth.realm.keys import load_key_ring
from baas_auth.realm.marker import check_realm
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, generation, get, get_many, scan

__all__ = [
    "admin_record",
    "app_record",
    "client_record",
    "fresh_view",
    "guest_matcher",
    "org_record",
    "roles_of",
    "user_policy_of",
    "view_for",
]


def fresh_view(state: RealmState) -> Flow[Snapshot]:
    """The snapshot of the store's current generation."""
    current = yield from generation()
    return (yield from view_for(state, current))


def view_for(state: RealmState, current: int) -> Flow[Snapshot]:
    """The snapshot of generation ``current``; a new generation also checks that the store
    still holds this realm (``RealmLostError`` if not) and reloads stored keys (one may have
    been rotated or retired by another process)."""
    snapshot = state.snapshot
    if snapshot.generation == current:
        return snapshot
    yield from check_realm(state)  # the store may have lost the realm: never serve it empty
    if state.realm_id is not None and (state.settings.signing_keys is None or state.keys is None):
        state.keys = yield from load_key_ring(state.settings.signing_keys, state.keys)
    if state.snapshot.generation != current:
        state.snapshot = Snapshot(current)
    return state.snapshot


def _decoded(kind: type[rec.R], raw: bytes | None) -> rec.R | None:
    return None if raw is None else rec.decode(kind, raw)


def org_record(view: Snapshot, name: str) -> Flow[rec.OrgRecord | None]:
    found = view.orgs.lookup(name)
    if found is MISS:
        raw = yield from get(record_keys.org_key(name))
        found = view.orgs.remember(name, _decoded(rec.OrgRecord, raw))
    return found


def app_record(view: Snapshot, org: str, app: str) -> Flow[rec.AppRecord | None]:
    found = view.apps.lookup((org, app))
    if found is MISS:
        raw = yield from get(record_keys.app_key(org, app))
        found = view.apps.remember((org, app), _decoded(rec.AppRecord, raw))
    return found


def roles_of(view: Snapshot, org: str, app: str) -> Flow[dict[str, rec.RoleRecord]]:
    found = view.roles.lookup((org, app))
    if found is MISS:
        rows = yield from scan(record_keys.role_prefix(org, app))
        loaded = (rec.decode(rec.RoleRecord, raw) for _, raw in rows)
        found = view.roles.remember((org, app), {role.name: role for role in loaded})
    return found


def guest_matcher(
    state: RealmState, view: Snapshot, org: str, app: str, case_sensitive: bool
) -> Flow[Matcher | None]:
    """The compiled rules of the app's ``guest`` role; None when the app has no such role."""
    key = (org, app, case_sensitive)
    found = view.guests.lookup(key)
    if found is MISS:
        roles = yield from roles_of(view, org, app)
        found = view.guests.remember(key, _compile_guest(state.rules, roles, case_sensitive))
    return found


def _compile_guest(
    compiler: RuleCache, roles: dict[str, rec.RoleRecord], case_sensitive: bool
) -> Matcher | None:
    guest = roles.get("guest")
    if guest is None:
        return None
    rules = _stored_rules(compiler, guest.rules)
    return compiler.compile(rules, case_sensitive=case_sensitive) if rules else EMPTY_MATCHER


def _stored_rules(compiler: RuleCache, texts: list[str]) -> list[Rule]:
    """Rules were checked when granted; one that no longer parses was changed in the store
    behind the realm's back: a store failure (503), never a 500 and never a guess."""
    try:
        return [compiler.parse(text) for text in texts]
    except ConfigError as error:
        raise StoreError(f"a stored rule does not parse: {error}") from error


def user_policy_of(
    state: RealmState, view: Snapshot, org: str, app: str, user_uuid: str
) -> Flow[UserPolicy | None]:
    """The user's rules; None when the user is gone, disabled or not activated."""
    key = (org, app, user_uuid)
    found = view.users.lookup(key)
    if found is MISS:
        found = view.users.remember(key, (yield from _load_policy(state, view, *key)))
    return found


def _load_policy(
    state: RealmState, view: Snapshot, org: str, app: str, user_uuid: str
) -> Flow[UserPolicy | None]:
    user = _decoded(rec.UserRecord, (yield from get(record_keys.user_key(org, app, user_uuid))))
    if user is None or user.uuid != user_uuid or user.disabled or not user.activated:
        return None
    keys = [record_keys.group_key(org, app, path) for path in user.groups]
    rows = (yield from get_many(keys)) if keys else []
    groups = [rec.decode(rec.GroupRecord, raw) for raw in rows if raw]
    roles = yield from roles_of(view, org, app)
    try:
        return user_policy(user, roles, groups, state.rules)
    except ConfigError as error:
        raise StoreError(f"a stored rule does not parse: {error}") from error


def admin_record(view: Snapshot, admin_uuid: str) -> Flow[rec.AdminRecord | None]:
    """The admin user; None when it is gone, disabled, unactivated or unconfirmed."""
    found = view.admins.lookup(admin_uuid)
    if found is MISS:
        admin = _decoded(rec.AdminRecord, (yield from get(record_keys.admin_key(admin_uuid))))
        usable = admin is not None and admin.uuid == admin_uuid and _admin_usable(admin)
        found = view.admins.remember(admin_uuid, admin if usable else None)
    return found


def _admin_usable(admin: rec.AdminRecord) -> bool:
    return admin.activated and admin.confirmed and not admin.disabled


def client_record(view: Snapshot, client_id: str) -> Flow[rec.ClientRecord | None]:
    found = view.clients.lookup(client_id)
    if found is MISS:
        raw = yield from get(record_keys.client_key(client_id))
        found = view.clients.remember(client_id, _decoded(rec.ClientRecord, raw))
    return found
