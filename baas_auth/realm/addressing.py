"""Addressing orgs and apps by uuid as well as by name (behaviour §6):
``/{org-uuid}/{app-uuid}/…`` is the same app as ``/{org}/{app}/…``.

No index is kept: the uuid is found by scanning the org's (or the realm's) records, once per
store generation, and remembered in the snapshot; a name never has the form of a uuid, so a
segment is read as one or the other without doubt.
"""

from __future__ import annotations

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.errors import NotFoundError
from baas_auth.realm.cache import MISS, Snapshot
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, scan
from baas_auth.realm.views import app_record, fresh_view, org_record

__all__ = ["app_name_of", "org_name_of", "resolve_prefix"]


def resolve_prefix(view: Snapshot, org: str, app: str) -> Flow[tuple[str, str]]:
    """The names of the org and app of a multi-tenant prefix (lower case), each given by name
    or uuid; a uuid that names nothing is kept as it is (and found by no one: 401)."""
    if ids.is_uuid(org):
        org = (yield from _org_by_uuid(view, org)) or org
    if ids.is_uuid(app):
        app = (yield from _app_by_uuid(view, org, app)) or app
    return org, app


def org_name_of(state: RealmState, text: str) -> Flow[str]:
    """The name of the organization ``text`` names (its name or uuid, ignoring case)."""
    view = yield from fresh_view(state)
    lowered = text.lower()
    name = (yield from _org_by_uuid(view, lowered)) if ids.is_uuid(lowered) else lowered
    if name is None or (yield from org_record(view, name)) is None:
        raise NotFoundError(f"no organization {text[:64]!r}")
    return name


def app_name_of(state: RealmState, org: str, text: str) -> Flow[str]:
    """The name of the application ``text`` names in ``org`` (its name or uuid)."""
    view = yield from fresh_view(state)
    lowered = text.lower()
    name = (yield from _app_by_uuid(view, org, lowered)) if ids.is_uuid(lowered) else lowered
    if name is None or (yield from app_record(view, org, name)) is None:
        raise NotFoundError(f"no application {text[:64]!r} in {org}")
    return name


def _org_by_uuid(view: Snapshot, uuid: str) -> Flow[str | None]:
    key = f"org:{uuid}"
    found = view.names.lookup(key)
    if found is MISS:
        rows = yield from scan(record_keys.org_prefix())
        orgs = (rec.decode(rec.OrgRecord, raw) for _, raw in rows)
        found = view.names.remember(key, next((o.name for o in orgs if o.uuid == uuid), None))
    return found


def _app_by_uuid(view: Snapshot, org: str, uuid: str) -> Flow[str | None]:
    key = f"app:{org}/{uuid}"
    found = view.names.lookup(key)
    if found is MISS:
        rows = yield from scan(record_keys.app_prefix(org))
        apps = (rec.decode(rec.AppRecord, raw) for _, raw in rows)
        found = view.names.remember(key, next((a.name for a in apps if a.uuid == uuid), None))
    return found
