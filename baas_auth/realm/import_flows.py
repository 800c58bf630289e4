"""Importing identities exported from API BaaS (Usergrid), as a flow (docs/migration.md).

Every item keeps its uuid, client credentials keep their id and secret (stored as the realm
stores any secret, a keyed hash), and password hashes keep their scheme until the user's next
login. Nothing that exists is ever changed: an item already there with the same uuid is
"unchanged" (so importing a document twice changes nothing), one whose name or uuid belongs to
another identity is "skipped", with the reason. Each item is written with its index entries in
one ``transact``, as ``directory`` writes them; a dry run reads the same records and writes none.
"""

from __future__ import annotations

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.hashing import hash_client_secret, secret_matches
from baas_auth.core.import_document import (
    Dropped,
    ImportDocument,
    ImportDocumentError,
    ImportedApp,
    ImportedClient,
    ImportedGroup,
    ImportedOrg,
    ImportedRole,
    read_document,
)
from baas_auth.core.legacy_hashes import BCRYPT_MISSING, bcrypt_available
from baas_auth.errors import ConfigError
from baas_auth.model import ImportReport
from baas_auth.realm.directory import _app_records, new_uuid
from baas_auth.realm.import_accounts import import_admin, import_user
from baas_auth.realm.import_run import (
    ImportRun,
    Outcome,
    exists_as,
    known_names,
    report_dropped,
    skipped,
)
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, scan

__all__ = ["import_identities"]


def import_identities(
    state: RealmState, document: object, dry_run: bool, require_strong: bool
) -> Flow[ImportReport]:
    parsed = read_document(document, require_strong=require_strong)
    _check_bcrypt(parsed)
    run = ImportRun(state, dry_run)
    yield from _load_uuids(run)
    for org in parsed.orgs:
        yield from _import_org(run, org)
    for admin in parsed.admins:
        yield from import_admin(run, admin)
    return ImportReport(tuple(run.entries), dry_run)


def _check_bcrypt(document: ImportDocument) -> None:
    """bcrypt hashes are refused before anything is written when they could not be checked
    at login: better now, with the fix, than when the users try."""
    needing = sum("bcrypt" in password.chain for password in document.passwords())
    if needing and not bcrypt_available():
        having = "account has a bcrypt password hash" if needing == 1 else (
            "accounts have bcrypt password hashes"
        )
        raise ImportDocumentError(f"{needing} {having}, and {BCRYPT_MISSING}")


def _load_uuids(run: ImportRun) -> Flow[None]:
    """The uuids of the orgs and apps there are (a uuid names one of each, realm-wide)."""
    for _, raw in (yield from scan(record_keys.org_prefix())):
        org = rec.decode(rec.OrgRecord, raw)
        run.org_uuids[org.uuid] = org.name
        for _, raw_app in (yield from scan(record_keys.app_prefix(org.name))):
            app = rec.decode(rec.AppRecord, raw_app)
            run.app_uuids[app.uuid] = f"{app.org}/{app.name}"


# -- organizations and applications ---------------------------------------------------------


def _import_org(run: ImportRun, org: ImportedOrg) -> Flow[None]:
    outcome = skipped(org.problem) if org.problem else (yield from _place_org(run, org))
    run.add("organization", org.name, outcome, uuid=org.uuid)
    if outcome[0] == "skipped":
        _skip_org_items(run, org)
        return
    for client in org.clients:
        yield from _import_client(run, client, org.name, None)
    for app in org.apps:
        yield from _import_app(run, org.name, app)


def _place_org(run: ImportRun, org: ImportedOrg) -> Flow[Outcome]:
    key = record_keys.org_key(org.name)
    raw = yield from run.read(key)
    if raw is not None:
        found = rec.decode(rec.OrgRecord, raw)
        return exists_as(found.uuid, org.uuid, f"the organization {org.name!r}")
    if org.uuid in run.org_uuids:
        return skipped(f"the uuid is the organization {run.org_uuids[org.uuid]!r}")
    if not (yield from run.create({key: rec.encode(rec.OrgRecord(org.uuid, org.name))})):
        return skipped(f"the organization {org.name!r} was made meanwhile")
    run.org_uuids[org.uuid] = org.name
    return "created", None


def _import_app(run: ImportRun, org: str, app: ImportedApp) -> Flow[None]:
    outcome = skipped(app.problem) if app.problem else (yield from _place_app(run, org, app))
    run.add("application", app.name, outcome, uuid=app.uuid, where=org)
    if outcome[0] == "skipped":
        _skip_app_items(run, f"{org}/{app.name}", app, "its application was skipped")
        return
    for client in app.clients:
        yield from _import_client(run, client, org, app.name)
    for role in app.roles:
        yield from _import_role(run, org, app.name, role)
    for group in app.groups:
        yield from _import_group(run, org, app.name, group)
    for user in app.users:
        yield from import_user(run, org, app.name, user)


def _place_app(run: ImportRun, org: str, app: ImportedApp) -> Flow[Outcome]:
    key = record_keys.app_key(org, app.name)
    raw = yield from run.read(key)
    if raw is not None:
        found = rec.decode(rec.AppRecord, raw)
        return exists_as(found.uuid, app.uuid, f"the application {org}/{app.name}")
    if app.uuid in run.app_uuids:
        return skipped(f"the uuid is the application {run.app_uuids[app.uuid]!r}")
    record = rec.AppRecord(app.uuid, org, app.name, app.access_token_ttl_ms)
    records = _app_records(record, "locked")
    for role in app.roles:  # the document's own admin, default and guest come with their uuids
        if role.problem is None:  # a built-in role the import must skip is made empty
            records.pop(record_keys.role_key(org, app.name, role.name), None)
    if not (yield from run.create(records)):
        return skipped(f"the application {org}/{app.name} was made meanwhile")
    run.app_uuids[app.uuid] = f"{org}/{app.name}"
    return "created", None


def _skip_org_items(run: ImportRun, org: ImportedOrg) -> None:
    reason = skipped("its organization was skipped")
    for client in org.clients:
        run.add("credentials", client.client_id, reason, where=org.name)
    for app in org.apps:
        run.add("application", app.name, reason, uuid=app.uuid, where=org.name)
        _skip_app_items(run, f"{org.name}/{app.name}", app, "its organization was skipped")


def _skip_app_items(run: ImportRun, where: str, app: ImportedApp, why: str) -> None:
    reason = skipped(why)
    for client in app.clients:
        run.add("credentials", client.client_id, reason, where=where)
    for role in app.roles:
        run.add("role", role.name, reason, uuid=role.uuid, where=where)
    for group in app.groups:
        run.add("group", group.path, reason, uuid=group.uuid, where=where)
    for user in app.users:
        run.add("user", user.username, reason, uuid=user.uuid, where=where)


# -- client credentials ---------------------------------------------------------------------


def _import_client(run: ImportRun, client: ImportedClient, org: str, app: str | None) -> Flow[None]:
    where = org if app is None else f"{org}/{app}"
    if client.problem:
        run.add("credentials", client.client_id, skipped(client.problem), where=where)
        return
    run.add("credentials", client.client_id, (yield from _place_client(run, client, org, app)),
            where=where)


def _place_client(
    run: ImportRun, client: ImportedClient, org: str, app: str | None
) -> Flow[Outcome]:
    if run.state.keys is None:  # the drivers load the keys before any flow
        raise ConfigError("the realm's keys are not loaded")
    secret_key = run.state.keys.secret_key
    key = record_keys.client_key(client.client_id)
    raw = yield from run.read(key)
    if raw is not None:
        found = rec.decode(rec.ClientRecord, raw)
        if (found.org, found.app) != (org, app):
            owner = found.org if found.app is None else f"{found.org}/{found.app}"
            return skipped(f"the client_id belongs to {owner}")
        if not secret_matches(client.secret, found.secret_hash, secret_key):
            return skipped("the client_id exists with another secret")
        return "unchanged", None
    hashed = hash_client_secret(client.secret, secret_key)
    record = rec.ClientRecord(client.client_id, org, app, hashed)
    if not (yield from run.create({key: rec.encode(record)})):
        return skipped("the client_id was made meanwhile")
    return "created", None


# -- roles and groups -----------------------------------------------------------------------


def _import_role(run: ImportRun, org: str, app: str, role: ImportedRole) -> Flow[None]:
    where = f"{org}/{app}"
    key = record_keys.role_key(org, app, role.name)
    raw = None if role.problem else (yield from run.read(key))
    if role.problem:
        outcome = skipped(role.problem)
    elif raw is not None:
        found = rec.decode(rec.RoleRecord, raw)
        outcome = exists_as(found.uuid, role.uuid, f"the role {role.name!r}")
    else:
        uuid = role.uuid or new_uuid()  # the original's, else one of its own, as made here
        record = rec.RoleRecord(role.name, role.inactivity_ms, list(role.rules), uuid)
        made = yield from run.create({key: rec.encode(record)})
        outcome = ("created", None) if made else skipped("the role was made meanwhile")
    run.add("role", role.name, outcome, uuid=role.uuid, where=where)
    report_dropped(run, outcome, role.dropped, (), f"{where} role {role.name}")


def _import_group(run: ImportRun, org: str, app: str, group: ImportedGroup) -> Flow[None]:
    where = f"{org}/{app}"
    missing: list[Dropped] = []
    key = record_keys.group_key(org, app, group.path)
    raw = None if group.problem else (yield from run.read(key))
    if group.problem:
        outcome = skipped(group.problem)
    elif raw is not None:
        found = rec.decode(rec.GroupRecord, raw)
        outcome = exists_as(found.uuid, group.uuid, f"the group {group.path!r}")
    else:
        roles, missing = yield from known_names(
            run, "role", group.roles, lambda name: record_keys.role_key(org, app, name), where
        )
        record = rec.GroupRecord(group.path, list(group.rules), roles, group.uuid or new_uuid())
        made = yield from run.create({key: rec.encode(record)})
        outcome = ("created", None) if made else skipped("the group was made meanwhile")
    run.add("group", group.path, outcome, uuid=group.uuid, where=where)
    report_dropped(run, outcome, group.dropped, missing, f"{where} group {group.path}")


# -- accounts -------------------------------------------------------------------------------


