"""Importing app users and admin users (docs/migration.md), as flows: each account written with
the claims of its names in one ``transact``, never over another account; an imported hash kept as
it is (tagged with its scheme) until the first login re-hashes it.
"""

from __future__ import annotations

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.import_document import (
    Dropped,
    ImportedAdmin,
    ImportedPassword,
    ImportedUser,
)
from baas_auth.core.legacy_hashes import legacy_hash
from baas_auth.realm.account_directory import _claims
from baas_auth.realm.import_run import (
    ImportRun,
    Outcome,
    known_names,
    report_dropped,
    skipped,
)
from baas_auth.realm.store_commands import Flow, offload

__all__ = [
    "import_admin",
    "import_user",
]


def import_user(run: ImportRun, org: str, app: str, user: ImportedUser) -> Flow[None]:
    where = f"{org}/{app}"
    missing: list[Dropped] = []
    key = record_keys.user_key(org, app, user.uuid)
    raw = None if user.problem else (yield from run.read(key))
    if user.problem:
        outcome = skipped(user.problem)
    elif raw is not None:
        found = rec.decode(rec.UserRecord, raw).username
        outcome = _same_account(found, user.username, "user")
    else:
        roles, missing_roles = yield from known_names(
            run, "role", user.roles, lambda name: record_keys.role_key(org, app, name), where
        )
        groups, missing_groups = yield from known_names(
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
    report_dropped(run, outcome, user.dropped, missing, f"{where} user {user.username}")


def import_admin(run: ImportRun, admin: ImportedAdmin) -> Flow[None]:
    key = record_keys.admin_key(admin.uuid)
    missing: list[Dropped] = []
    raw = None if admin.problem else (yield from run.read(key))
    if admin.problem:
        outcome = skipped(admin.problem)
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
    report_dropped(run, outcome, admin.dropped, missing, f"admin {admin.username}")


def _admin_orgs(run: ImportRun, admin: ImportedAdmin) -> Flow[tuple[list[str], list[Dropped]]]:
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
    return skipped(f"the uuid is the {what} {found!r}")


def _create_account(
    run: ImportRun, record: dict[str, bytes], claims: dict[str, bytes], what: str
) -> Flow[Outcome]:
    if (yield from run.create({**record, **claims})):
        return "created", None
    for claim in claims:
        if (yield from run.read(claim)) is not None:
            name = claim.rpartition(":")[2]
            return skipped(f"the username or email {name!r} belongs to another {what}")
    return skipped(f"the {what} was made meanwhile")


def _stored_password(run: ImportRun, password: ImportedPassword | None) -> Flow[str | None]:
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
