"""Reading an import document: identities exported from API BaaS (Usergrid), as JSON data.

The shape follows what the original's export tools write (docs/migration.md has the format):
organizations with their uuid, client credentials and applications; each application with its
uuid, ``accesstokenttl``, credentials, roles (``permissions``, ``inactivity``), groups and users;
each user with uuid, username, email, ``activated``, ``disabled`` and its ``credentials``
record; admin users with their organizations. A document of the wrong shape (a wrong type, an
unknown version) is refused whole (``ImportDocumentError``); an item whose values the realm
cannot take (a malformed uuid, a username spelled as a uuid, an unknown hash scheme) carries a
``problem`` and is reported as skipped. Unknown keys are ignored: exports carry many. No I/O.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

from baas_auth.core import identifiers as ids
from baas_auth.core.import_items import (
    Data,
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
)
from baas_auth.core.import_values import (
    canonical_or_kept,
    read_each,
    read_flag,
    read_names,
    read_object,
    read_optional_uuid,
    read_rules,
    read_strings,
    read_text,
    read_ttl,
    read_uuid,
    refusal,
    slashed_group_path,
)
from baas_auth.core.legacy_hashes import SCHEMES, check_legacy_secret
from baas_auth.errors import ConfigError

__all__ = [
    "Dropped",
    "ImportDocument",
    "ImportDocumentError",
    "ImportedAdmin",
    "ImportedApp",
    "ImportedClient",
    "ImportedGroup",
    "ImportedOrg",
    "ImportedPassword",
    "ImportedRole",
    "ImportedUser",
    "read_document",
]

FORMAT_VERSION = 1
_CLIENT_PREFIXES = {"org": "b3U6", "app": "YXA6"}
_SECRET = re.compile(r"[\x21-\x7e]{1,256}")



def read_document(data: object, *, require_strong: bool = False) -> ImportDocument:
    """The document's items, each checked; ImportDocumentError for a document of the wrong
    shape. ``require_strong``: accounts whose hash is md5 or sha-1 are marked skipped."""
    top = read_object(data, "the document")
    version = top.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ImportDocumentError(f"version {version!r}: this baas-auth reads version 1")
    orgs = read_each(top, "organizations", "the document", _org)
    admins = read_each(top, "admins", "the document", _admin)
    if require_strong:
        orgs = [_strong_org(org) for org in orgs]
        admins = [_strong(admin) for admin in admins]
    return ImportDocument(tuple(orgs), tuple(admins))


# -- the items -------------------------------------------------------------------------------


def _org(item: Data, where: str) -> ImportedOrg:
    name = read_text(item, "name", where) or ""
    uuid, problem = read_uuid(item, where)
    problem = problem or refusal(ids.new_org_name, name)
    return ImportedOrg(
        uuid,
        name.lower() if problem is None else name,
        tuple(read_each(item, "credentials", where, lambda i, w: _client(i, w, "org"))),
        tuple(read_each(item, "applications", where, lambda i, w: _app(i, w, name.lower()))),
        problem,
    )


def _app(item: Data, where: str, org: str) -> ImportedApp:
    given = read_text(item, "name", where) or ""
    prefix, _, name = given.rpartition("/")  # the original names an app "org/app"
    uuid, problem = read_uuid(item, where)
    problem = problem or refusal(lambda n: ids.org_or_app_name(n, "application"), name)
    if prefix and prefix.lower() != org:
        problem = problem or f"the name {given!r} is not an application of {org!r}"
    return ImportedApp(
        uuid,
        name.lower() if problem is None else given,
        read_ttl(item, where),
        tuple(read_each(item, "credentials", where, lambda i, w: _client(i, w, "app"))),
        tuple(read_each(item, "roles", where, _role)),
        tuple(read_each(item, "groups", where, _group)),
        tuple(read_each(item, "users", where, _user)),
        problem,
    )


def _client(item: Data, where: str, kind: str) -> ImportedClient:
    client_id = read_text(item, "client_id", where) or ""
    secret = read_text(item, "client_secret", where) or ""
    problem = None
    if not ids.is_client_id(client_id) or not client_id:
        problem = "a client_id is 1 to 256 visible ASCII characters"
    elif not _SECRET.fullmatch(secret):
        problem = "a client_secret is 1 to 256 visible ASCII characters"
    else:
        other = "app" if kind == "org" else "org"
        if client_id.startswith(_CLIENT_PREFIXES[other]):
            prefix = _CLIENT_PREFIXES[other]
            problem = f"{prefix}… is an {other}'s client_id, listed under an {kind}"
    return ImportedClient(client_id, secret, problem)


def _role(item: Data, where: str) -> ImportedRole:
    name = read_text(item, "name", where) or ""
    uuid, problem = read_optional_uuid(item, where)
    inactivity = item.get("inactivity", 0)
    if isinstance(inactivity, bool) or not isinstance(inactivity, int) or inactivity < 0:
        raise ImportDocumentError(f"{where}.inactivity: milliseconds, a whole number >= 0")
    rules, dropped = read_rules(item, where)
    problem = problem or refusal(ids.role_name, name)
    role = canonical_or_kept(name, problem, str.lower)
    return ImportedRole(role, uuid, inactivity, rules, dropped, problem)


def _group(item: Data, where: str) -> ImportedGroup:
    path = slashed_group_path(read_text(item, "path", where) or "")
    uuid, problem = read_optional_uuid(item, where)
    rules, dropped = read_rules(item, where)
    roles, bad_roles = read_names(item, "roles", where, ids.role_name)
    problem = problem or refusal(ids.group_path, path)
    return ImportedGroup(path, uuid, rules, roles, (*dropped, *bad_roles), problem)


def _user(item: Data, where: str) -> ImportedUser:
    username = read_text(item, "username", where) or ""
    uuid, problem = read_uuid(item, where)
    email = read_text(item, "email", where) or None
    problem = problem or refusal(ids.username, username) or refusal(ids.email, email)
    password, password_problem = _password(item, where)
    rules, dropped = read_rules(item, where)
    roles, bad_roles = read_names(item, "roles", where, ids.role_name)
    def canonical_group(path: str) -> str:
        return ids.group_path(slashed_group_path(path))

    groups, bad_groups = read_names(item, "groups", where, canonical_group)
    return ImportedUser(
        uuid, username, email,
        read_flag(item, "activated", where, default=True),
        read_flag(item, "disabled", where, default=False),
        password, rules, roles, groups, (*dropped, *bad_roles, *bad_groups),
        problem or password_problem,
    )


def _admin(item: Data, where: str) -> ImportedAdmin:
    username = read_text(item, "username", where) or ""
    uuid, problem = read_uuid(item, where)
    email = read_text(item, "email", where) or None
    problem = problem or refusal(ids.username, username) or refusal(ids.email, email)
    password, password_problem = _password(item, where)
    orgs, bad_orgs = _org_refs(item, where)
    # The original's three admin states, kept as they were: an admin still to be confirmed or
    # activated there is one here too, and may finish through the realm's activation flow.
    return ImportedAdmin(
        uuid,
        username,
        email,
        read_flag(item, "disabled", where, default=False),
        read_flag(item, "activated", where, default=True),
        read_flag(item, "confirmed", where, default=True),
        password,
        orgs,
        bad_orgs,
        problem or password_problem,
    )


def _org_refs(
    item: Data, where: str
) -> tuple[tuple[tuple[str, str | None], ...], tuple[Dropped, ...]]:
    """An admin's ``organizations``: names, or objects with a name and a uuid (as the export
    writes them: an org of the same name but another uuid is not that organization)."""
    names, dropped = read_names(item, "organizations", where, ids.new_org_name, name_key="name")
    uuids: dict[str, str | None] = {}
    values = item.get("organizations", [])
    for index, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            uuid, problem = read_optional_uuid(value, f"{where}.organizations[{index}]")
            uuids[value["name"].lower()] = None if problem else uuid
    return tuple((name, uuids.get(name)) for name in names), dropped


def _password(item: Data, where: str) -> tuple[ImportedPassword | None, str | None]:
    """The ``credentials.password`` record (None: the account has no password); also read
    from ``dictionaries.credentials``, where the original's export tools write it."""
    credentials, at = item.get("credentials"), f"{where}.credentials"
    dictionaries = item.get("dictionaries")
    if credentials is None and dictionaries is not None:
        credentials = read_object(dictionaries, f"{where}.dictionaries").get("credentials")
        at = f"{where}.dictionaries.credentials"
    if credentials is None:
        return None, None
    record = read_object(credentials, at).get("password")
    if record is None:
        return None, None
    inner = f"{at}.password"
    record = read_object(record, inner)
    chain = _chain(record, inner)
    secret = read_text(record, "secret", inner) or ""
    salt = read_text(record, "salt", inner)
    if "" in chain:
        return None, "the credentials record names no scheme (cryptoChain, hashType, cipher)"
    unknown = [step for step in chain if step not in SCHEMES]
    if unknown:
        return None, f"unknown password scheme {unknown[0]!r} (known: {', '.join(SCHEMES)})"
    password = ImportedPassword(chain, secret, salt)
    problem = refusal(lambda s: _checked_secret(password), secret)
    return password, problem


def _chain(record: Data, where: str) -> tuple[str, ...]:
    """The commands of a record, as the original reads them: ``cryptoChain``, else the older
    ``hashType`` then ``cipher``, else ``cipher`` alone."""
    chain = record.get("cryptoChain")
    if chain:
        steps = read_strings(chain, f"{where}.cryptoChain")
    elif record.get("hashType") is not None:
        hash_type = read_text(record, "hashType", where) or ""
        steps = [hash_type, read_text(record, "cipher", where) or ""]
    else:
        steps = [read_text(record, "cipher", where) or ""]
    return tuple(step.lower() for step in steps)


def _checked_secret(password: ImportedPassword) -> str:
    if password.is_plaintext:
        if not ids.is_text(password.secret) or not 0 < len(password.secret) <= 1024:
            raise ConfigError("a plaintext password is text of 1 to 1024 characters")
    else:
        check_legacy_secret(password.chain, password.secret)
    return password.secret


# -- --require-strong -----------------------------------------------------------------------


_WEAK = "its password hash is md5 or sha-1, refused by require_strong"


def _strong_org(org: ImportedOrg) -> ImportedOrg:
    return dataclasses.replace(org, apps=tuple(_strong_app(app) for app in org.apps))


def _strong_app(app: ImportedApp) -> ImportedApp:
    return dataclasses.replace(app, users=tuple(_strong(user) for user in app.users))


AccountT = TypeVar("AccountT", ImportedUser, ImportedAdmin)


def _strong(account: AccountT) -> AccountT:
    if account.problem is None and account.password is not None and account.password.is_weak:
        return dataclasses.replace(account, problem=_WEAK)
    return account


