"""Reading one directory record straight from the store (the administrative calls' reads):
by name, or by any identifier of an account. ``NotFoundError`` when there is none."""

from __future__ import annotations

from collections.abc import Callable

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.errors import NotFoundError
from baas_auth.realm.store_commands import Flow, get

__all__ = ["admin_of", "app_of", "client_of", "load", "org_of", "user_of"]


def load(kind: type[rec.R], key: str, missing: str) -> Flow[rec.R]:
    raw = yield from get(key)
    if raw is None:
        raise NotFoundError(missing)
    return rec.decode(kind, raw)


def org_of(name: str) -> Flow[rec.OrgRecord]:
    org = ids.org_or_app_name(name, "organization")
    return (yield from load(rec.OrgRecord, record_keys.org_key(org), f"no organization {org}"))


def app_of(org: str, app: str) -> Flow[rec.AppRecord]:
    org_name = ids.org_or_app_name(org, "organization")
    app_name = ids.org_or_app_name(app, "application")
    missing = f"no application {org_name}/{app_name}"
    return (yield from load(rec.AppRecord, record_keys.app_key(org_name, app_name), missing))


def user_of(app: rec.AppRecord, name: str) -> Flow[rec.UserRecord]:
    """The one user that ``name`` (a username, an email or a uuid) names in ``app``."""
    missing = f"no user {name!r} in {app.org}/{app.name}"
    def claim(name: str) -> str:
        return record_keys.user_id_key(app.org, app.name, name)

    user_uuid = yield from _resolve(name, claim, missing)
    key = record_keys.user_key(app.org, app.name, user_uuid)
    found = yield from load(rec.UserRecord, key, missing)
    if found.uuid != user_uuid:
        raise NotFoundError(missing)
    return found


def admin_of(name: str) -> Flow[rec.AdminRecord]:
    """The one admin user that ``name`` (a username, an email or a uuid) names."""
    missing = f"no admin user {name!r}"
    admin_uuid = yield from _resolve(name, record_keys.admin_id_key, missing)
    found = yield from load(rec.AdminRecord, record_keys.admin_key(admin_uuid), missing)
    if found.uuid != admin_uuid:
        raise NotFoundError(missing)
    return found


def client_of(client_id: str) -> Flow[rec.ClientRecord]:
    if not ids.is_client_id(client_id):
        raise NotFoundError("no such client_id")
    key = record_keys.client_key(client_id)
    return (yield from load(rec.ClientRecord, key, "no such client_id"))


def _resolve(name: str, claim_key: Callable[[str], str], missing: str) -> Flow[str]:
    """The uuid ``name`` stands for: itself if it is a uuid, else its claim's uuid."""
    lowered = ids.identifier(name)
    if lowered is None:  # nothing can be named so; the store never sees such a key
        raise NotFoundError(missing)
    if ids.is_uuid(lowered):
        return lowered
    claim = yield from get(claim_key(lowered))
    if claim is None:
        raise NotFoundError(missing)
    return rec.decode_text(claim, "account index entry")
