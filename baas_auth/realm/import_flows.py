"""Importing identities exported from API BaaS (Usergrid), as a flow (docs/migration.md).

Every item keeps its uuid, client credentials keep their id and secret (stored as the realm
stores any secret, a keyed hash), and password hashes keep their scheme until the user's next
login. Nothing that exists is ever changed: an item already there with the same uuid is
"unchanged" (so importing a document twice changes nothing), one whose name or uuid belongs to
another identity is "skipped", with the reason. Each item is written with its index entries in
one ``transact``, as ``directory`` writes them; a dry run reads the same records and writes none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.hashing import hash_client_secret, secret_matches
from baas_auth.core.import_document import (
    Dropped,
    ImportDocument,
    ImportDocumentError,
    ImportedAdmin,
    ImportedApp,
    ImportedClient,
    ImportedGroup,
    ImportedOrg,
    ImportedPassword,
    ImportedRole,
    ImportedUser,
    read_document,
)
from baas_auth.core.legacy_hashes import BCRYPT_MISSING, bcrypt_available, legacy_hash
from baas_auth.errors import ConfigError
from baas_auth.model import ImportEntry, ImportOutcome, ImportReport
from baas_auth.realm.account_directory import _claims
from baas_auth.realm.directory import _app_records
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, offload, scan, transact

__all__ = ["import_identities"]

Outcome = tuple[ImportOutcome, str | None]


@dataclass(slots=True)
class _Import:
    """One import under way: what it reported, and (dry run) what it would have written."""

    state: RealmState
    dry_run: bool
    entries: list[ImportEntry] = field(default_factory=list)
    pending: dict[str, bytes] = field(default_factory=dict)
    org_uuids: dict[str, str] = field(default_factory=dict)
    app_uuids: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        name: str,
        outcome: Outcome,
        *,
        uuid: str | None = None,
        where: str | None = None,
    ) -> None:
        entry = ImportEntry(kind, name, outcome[0], uuid or None, where, outcome[1])
        self.entries.append(entry)

    def read(self, key: str) -> Flow[bytes | None]:
        if key in self.pending:
            return self.pending[key]
        return (yield from get(key))

    def create(self, records: dict[str, bytes]) -> Flow[bool]:
        """Write ``records`` together unless one of their keys exists (nothing, in a dry run)."""
        if not self.dry_run:
            return (yield from transact(create=records))
        for key in records:
            if (yield from self.read(key)) is not None:
                return False
        self.pending.update(records)
        return True


def import_identities(
    state: RealmState, document: object, dry_run: bool, require_strong: bool
) -> Flow[ImportReport]:
    parsed = read_document(document, require_strong=require_strong)
    _check_bcrypt(parsed)
    run = _Import(state, dry_run)
    yield from _load_uuids(run)
    for org in parsed.orgs:
        yield from _import_org(run, org)
    for admin in parsed.admins:
        yield from _import_admin(run, admin)
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


def _load_uuids(run: _Import) -> Flow[None]:
    """The uuids of the orgs and apps there are (a uuid names one of each, realm-wide)."""
    for _, raw in (yield from scan(record_keys.org_prefix())):
        org = rec.decode(rec.OrgRecord, raw)
        run.org_uuids[org.uuid] = org.name
        for _, raw_app in (yield from scan(record_keys.app_prefix(org.name))):
            app = rec.decode(rec.AppRecord, raw_app)
            run.app_uuids[app.uuid] = f"{app.org}/{app.name}"


def _exists_as(found_uuid: str | None, uuid: str | None, what: str) -> Outcome:
    """An item found under its name: the same one (unchanged), or another (skipped)."""
    if uuid is None or found_uuid in (None, uuid):
        return "unchanged", None
    return "skipped", f"{what} exists with another uuid ({found_uuid})"


def _skipped(reason: str) -> Outcome:
    return "skipped", reason


# -- organizations and applications ---------------------------------------------------------


def _import_org(run: _Import, org: ImportedOrg) -> Flow[None]:
    outcome = _skipped(org.problem) if org.problem else (yield from _place_org(run, org))
    run.add("organization", org.name, outcome, uuid=org.uuid)
    if outcome[0] == "skipped":
        _skip_org_items(run, org)
        return
    for client in org.clients:
        yield from _import_client(run, client, org.name, None)
    for app in org.apps:
        yield from _import_app(run, org.name, app)


def _place_org(run: _Import, org: ImportedOrg) -> Flow[Outcome]:
    key = record_keys.org_key(org.name)
    raw = yield from run.read(key)
    if raw is not None:
        found = rec.decode(rec.OrgRecord, raw)
        return _exists_as(found.uuid, org.uuid, f"the organization {org.name!r}")
    if org.uuid in run.org_uuids:
        return _skipped(f"the uuid is the organization {run.org_uuids[org.uuid]!r}")
    if not (yield from run.create({key: rec.encode(rec.OrgRecord(org.uuid, org.name))})):
        return _skipped(f"the organization {org.name!r} was made meanwhile")
    run.org_uuids[org.uuid] = org.name
    return "created", None


def _import_app(run: _Import, org: str, app: ImportedApp) -> Flow[None]:
    outcome = _skipped(app.problem) if app.problem else (yield from _place_app(run, org, app))
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
        yield from _import_user(run, org, app.name, user)


def _place_app(run: _Import, org: str, app: ImportedApp) -> Flow[Outcome]:
    key = record_keys.app_key(org, app.name)
    raw = yield from run.read(key)
    if raw is not None:
        found = rec.decode(rec.AppRecord, raw)
        return _exists_as(found.uuid, app.uuid, f"the application {org}/{app.name}")
    if app.uuid in run.app_uuids:
        return _skipped(f"the uuid is the application {run.app_uuids[app.uuid]!r}")
    record = rec.AppRecord(app.uuid, org, app.name, app.access_token_ttl_ms)
    records = _app_records(record, "locked")
    for role in app.roles:  # the document's own admin, default and guest come with their uuids
        if role.problem is None:  # a built-in role the import must skip is made empty
            records.pop(record_keys.role_key(org, app.name, role.name), None)
    if not (yield from run.create(records)):
        return _skipped(f"the application {org}/{app.name} was made meanwhile")
    run.app_uuids[app.uuid] = f"{org}/{app.name}"
    return "created", None


def _skip_org_items(run: _Import, org: ImportedOrg) -> None:
    reason = _skipped("its organization was skipped")
    for client in org.clients:
        run.add("credentials", client.client_id, reason, where=org.name)
    for app in org.apps:
        run.add("application", app.name, reason, uuid=app.uuid, where=org.name)
        _skip_app_items(run, f"{org.name}/{app.name}", app, "its organization was skipped")


def _skip_app_items(run: _Import, where: str, app: ImportedApp, why: str) -> None:
    reason = _skipped(why)
    for client in app.clients:
        run.add("credentials", client.client_id, reason, where=where)
    for role in app.roles:
        run.add("role", role.name, reason, uuid=role.uuid, where=where)
    for group in app.groups:
        run.add("group", group.path, reason, uuid=group.uuid, where=where)
    for user in app.users:
        run.add("user", user.username, reason, uuid=user.uuid, where=where)


# -- client credentials ---------------------------------------------------------------------


def _import_client(run: _Import, client: ImportedClient, org: str, app: str | None) -> Flow[None]:
    where = org if app is None else f"{org}/{app}"
    if client.problem:
        run.add("credentials", client.client_id, _skipped(client.problem), where=where)
        return
    run.add("credentials", client.client_id, (yield from _place_client(run, client, org, app)),
            where=where)


def _place_client(
    run: _Import, client: ImportedClient, org: str, app: str | None
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
            return _skipped(f"the client_id belongs to {owner}")
        if not secret_matches(client.secret, found.secret_hash, secret_key):
            return _skipped("the client_id exists with another secret")
        return "unchanged", None
    hashed = hash_client_secret(client.secret, secret_key)
    record = rec.ClientRecord(client.client_id, org, app, hashed)
    if not (yield from run.create({key: rec.encode(record)})):
        return _skipped("the client_id was made meanwhile")
    return "created", None


# -- roles and groups -----------------------------------------------------------------------


def _import_role(run: _Import, org: str, app: str, role: ImportedRole) -> Flow[None]:
    where = f"{org}/{app}"
    key = record_keys.role_key(org, app, role.name)
    raw = None if role.problem else (yield from run.read(key))
    if role.problem:
        outcome = _skipped(role.problem)
    elif raw is not None:
        found = rec.decode(rec.RoleRecord, raw)
        outcome = _exists_as(found.uuid, role.uuid, f"the role {role.name!r}")
    else:
        record = rec.RoleRecord(role.name, role.inactivity_ms, list(role.rules), role.uuid)
        made = yield from run.create({key: rec.encode(record)})
        outcome = ("created", None) if made else _skipped("the role was made meanwhile")
    run.add("role", role.name, outcome, uuid=role.uuid, where=where)
    _report_dropped(run, outcome, role.dropped, (), f"{where} role {role.name}")


def _import_group(run: _Import, org: str, app: str, group: ImportedGroup) -> Flow[None]:
    where = f"{org}/{app}"
    missing: list[Dropped] = []
    key = record_keys.group_key(org, app, group.path)
    raw = None if group.problem else (yield from run.read(key))
    if group.problem:
        outcome = _skipped(group.problem)
    elif raw is not None:
        found = rec.decode(rec.GroupRecord, raw)
        outcome = _exists_as(found.uuid, group.uuid, f"the group {group.path!r}")
    else:
        roles, missing = yield from _known(
            run, "role", group.roles, lambda name: record_keys.role_key(org, app, name), where
        )
        record = rec.GroupRecord(group.path, list(group.rules), roles, group.uuid)
        made = yield from run.create({key: rec.encode(record)})
        outcome = ("created", None) if made else _skipped("the group was made meanwhile")
    run.add("group", group.path, outcome, uuid=group.uuid, where=where)
    _report_dropped(run, outcome, group.dropped, missing, f"{where} group {group.path}")


def _known(
    run: _Import, kind: str, names: Sequence[str], key_of: Callable[[str], str], where: str
) -> Flow[tuple[list[str], list[Dropped]]]:
    """The ``names`` (of roles, groups or orgs) that exist, lower-cased as members list them;
    a name of none is dropped with the reason."""
    kept: list[str] = []
    missing: list[Dropped] = []
    for name in names:
        if (yield from run.read(key_of(name))) is None:
            missing.append(Dropped(kind, name, f"no {kind} {name!r} in {where}"))
        else:
            kept.append(name.lower())
    return kept, missing


def _report_dropped(
    run: _Import,
    outcome: Outcome,
    dropped: Sequence[Dropped],
    missing: Sequence[Dropped],
    where: str,
) -> None:
    """The parts of an item left out. What the document itself refuses (a bad rule or name)
    is reported every time the item is imported or found unchanged, so a second import says
    what the first said; what the realm lacked (``missing``) only when the item was made."""
    if outcome[0] == "skipped":
        return
    for item in (*dropped, *missing) if outcome[0] == "created" else dropped:
        run.add(item.kind, item.name, _skipped(item.reason), where=where)


# -- accounts -------------------------------------------------------------------------------


def _import_user(run: _Import, org: str, app: str, user: ImportedUser) -> Flow[None]:
    where = f"{org}/{app}"
    missing: list[Dropped] = []
    key = record_keys.user_key(org, app, user.uuid)
    raw = None if user.problem else (yield from run.read(key))
    if user.problem:
        outcome = _skipped(user.problem)
    elif raw is not None:
        found = rec.decode(rec.UserRecord, raw).username
        outcome = _same_account(found, user.username, "user")
    else:
        roles, missing_roles = yield from _known(
            run, "role", user.roles, lambda name: record_keys.role_key(org, app, name), where
        )
        groups, missing_groups = yield from _known(
            run, "group", user.groups, lambda path: record_keys.group_key(org, app, path), where
        )
        missing = [*missing_roles, *missing_groups]
        record = rec.UserRecord(
            user.uuid, user.username, user.email,
            (yield from _stored_password(run, user.password)),
            user.activated, user.disabled, list(user.rules), roles, groups,
        )
        claims = _claims(user.username, user.email, user.uuid, rec.AppRecord("", org, app))
        outcome = yield from _create_account(run, {key: rec.encode(record)}, claims, "user")
    run.add("user", user.username, outcome, uuid=user.uuid, where=where)
    _report_dropped(run, outcome, user.dropped, missing, f"{where} user {user.username}")


def _import_admin(run: _Import, admin: ImportedAdmin) -> Flow[None]:
    key = record_keys.admin_key(admin.uuid)
    missing: list[Dropped] = []
    raw = None if admin.problem else (yield from run.read(key))
    if admin.problem:
        outcome = _skipped(admin.problem)
    elif raw is not None:
        found = rec.decode(rec.AdminRecord, raw).username
        outcome = _same_account(found, admin.username, "admin user")
    else:
        orgs, missing = yield from _admin_orgs(run, admin)
        record = rec.AdminRecord(
            admin.uuid, admin.username, admin.email,
            (yield from _stored_password(run, admin.password)), sorted(orgs), admin.disabled,
            activated=admin.activated, confirmed=admin.confirmed,
        )
        claims = _claims(admin.username, admin.email, admin.uuid, None)
        outcome = yield from _create_account(run, {key: rec.encode(record)}, claims, "admin")
    run.add("admin", admin.username, outcome, uuid=admin.uuid)
    _report_dropped(run, outcome, admin.dropped, missing, f"admin {admin.username}")


def _admin_orgs(run: _Import, admin: ImportedAdmin) -> Flow[tuple[list[str], list[Dropped]]]:
    """The organizations an admin will administer: those of its list that exist, and are
    the exported ones (an org of that name but another uuid must not gain an admin)."""
    kept: list[str] = []
    missing: list[Dropped] = []
    for name, uuid in admin.orgs:
        raw = yield from run.read(record_keys.org_key(name))
        found = None if raw is None else rec.decode(rec.OrgRecord, raw)
        if found is None:
            missing.append(Dropped("organization", name, f"no organization {name!r}"))
        elif uuid is not None and found.uuid != uuid:
            reason = f"the organization {name!r} has another uuid ({found.uuid})"
            missing.append(Dropped("organization", name, reason))
        else:
            kept.append(name)
    return kept, missing


def _same_account(found: str, username: str, what: str) -> Outcome:
    if found.lower() == username.lower():
        return "unchanged", None
    return _skipped(f"the uuid is the {what} {found!r}")


def _create_account(
    run: _Import, record: dict[str, bytes], claims: dict[str, bytes], what: str
) -> Flow[Outcome]:
    if (yield from run.create({**record, **claims})):
        return "created", None
    for claim in claims:
        if (yield from run.read(claim)) is not None:
            name = claim.rpartition(":")[2]
            return _skipped(f"the username or email {name!r} belongs to another {what}")
    return _skipped(f"the {what} was made meanwhile")


def _stored_password(run: _Import, password: ImportedPassword | None) -> Flow[str | None]:
    """What the record keeps: an imported hash as it is (tagged with its scheme); a
    plaintext password hashed under the realm's KDF, never kept as it came."""
    if password is None:
        return None
    if not password.is_plaintext:
        return legacy_hash(password.chain, password.secret, password.salt)
    if run.dry_run:
        return None
    hasher = run.state.settings.password_hasher
    hashed: str = yield from offload(hasher.hash, password.secret)
    return hashed
