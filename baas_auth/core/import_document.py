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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from baas_auth.core import identifiers as ids
from baas_auth.core.legacy_hashes import SCHEMES, WEAK_SCHEMES, check_legacy_secret
from baas_auth.core.rules import Rule
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
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CLIENT_PREFIXES = {"org": "b3U6", "app": "YXA6"}
_SECRET = re.compile(r"[\x21-\x7e]{1,256}")
T = TypeVar("T")
Data = dict[str, object]


class ImportDocumentError(ConfigError):
    """The document is not an import document; the message says where."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """A part of an item left out (a rule the realm refuses, a role name it cannot take)."""

    kind: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportedPassword:
    """A credentials record: the commands the password runs through, and the stored value
    (for a ``plaintext`` chain, the password itself, which is hashed at import)."""

    chain: tuple[str, ...]
    secret: str = field(repr=False)
    salt: str | None = field(default=None, repr=False)

    @property
    def is_plaintext(self) -> bool:
        return all(step == "plaintext" for step in self.chain)

    @property
    def is_weak(self) -> bool:
        return "bcrypt" not in self.chain and not WEAK_SCHEMES.isdisjoint(self.chain)


@dataclass(frozen=True, slots=True)
class ImportedClient:
    client_id: str
    secret: str = field(repr=False)
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedRole:
    name: str
    uuid: str | None
    inactivity_ms: int
    rules: tuple[str, ...]
    dropped: tuple[Dropped, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedGroup:
    path: str
    uuid: str | None
    rules: tuple[str, ...]
    roles: tuple[str, ...]
    dropped: tuple[Dropped, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedUser:
    uuid: str
    username: str
    email: str | None
    activated: bool
    disabled: bool
    password: ImportedPassword | None
    rules: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedApp:
    uuid: str
    name: str
    access_token_ttl_ms: int | None
    clients: tuple[ImportedClient, ...]
    roles: tuple[ImportedRole, ...]
    groups: tuple[ImportedGroup, ...]
    users: tuple[ImportedUser, ...]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedOrg:
    uuid: str
    name: str
    clients: tuple[ImportedClient, ...]
    apps: tuple[ImportedApp, ...]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedAdmin:
    uuid: str
    username: str
    email: str | None
    disabled: bool
    activated: bool
    confirmed: bool
    password: ImportedPassword | None
    orgs: tuple[tuple[str, str | None], ...] = ()
    """The admin's organizations: each name, and the uuid the export gave it (if any)."""
    dropped: tuple[Dropped, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ImportDocument:
    orgs: tuple[ImportedOrg, ...]
    admins: tuple[ImportedAdmin, ...]

    def passwords(self) -> list[ImportedPassword]:
        """Every password record of an item that will be imported."""
        users = [u for o in self.orgs for a in o.apps for u in a.users if u.problem is None]
        accounts: list[ImportedUser | ImportedAdmin] = [*users, *self.admins]
        return [a.password for a in accounts if a.password is not None and a.problem is None]


def read_document(data: object, *, require_strong: bool = False) -> ImportDocument:
    """The document's items, each checked; ImportDocumentError for a document of the wrong
    shape. ``require_strong``: accounts whose hash is md5 or sha-1 are marked skipped."""
    top = _object(data, "the document")
    version = top.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ImportDocumentError(f"version {version!r}: this baas-auth reads version 1")
    orgs = _each(top, "organizations", "the document", _org)
    admins = _each(top, "admins", "the document", _admin)
    if require_strong:
        orgs = [_strong_org(org) for org in orgs]
        admins = [_strong(admin) for admin in admins]
    return ImportDocument(tuple(orgs), tuple(admins))


# -- the items -------------------------------------------------------------------------------


def _org(item: Data, where: str) -> ImportedOrg:
    name = _text(item, "name", where) or ""
    uuid, problem = _uuid_of(item, where)
    problem = problem or _problem(ids.new_org_name, name)
    return ImportedOrg(
        uuid,
        name.lower() if problem is None else name,
        tuple(_each(item, "credentials", where, lambda i, w: _client(i, w, "org"))),
        tuple(_each(item, "applications", where, lambda i, w: _app(i, w, name.lower()))),
        problem,
    )


def _app(item: Data, where: str, org: str) -> ImportedApp:
    given = _text(item, "name", where) or ""
    prefix, _, name = given.rpartition("/")  # the original names an app "org/app"
    uuid, problem = _uuid_of(item, where)
    problem = problem or _problem(lambda n: ids.org_or_app_name(n, "application"), name)
    if prefix and prefix.lower() != org:
        problem = problem or f"the name {given!r} is not an application of {org!r}"
    return ImportedApp(
        uuid,
        name.lower() if problem is None else given,
        _ttl(item, where),
        tuple(_each(item, "credentials", where, lambda i, w: _client(i, w, "app"))),
        tuple(_each(item, "roles", where, _role)),
        tuple(_each(item, "groups", where, _group)),
        tuple(_each(item, "users", where, _user)),
        problem,
    )


def _client(item: Data, where: str, kind: str) -> ImportedClient:
    client_id = _text(item, "client_id", where) or ""
    secret = _text(item, "client_secret", where) or ""
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
    name = _text(item, "name", where) or ""
    uuid, problem = _optional_uuid(item, where)
    inactivity = item.get("inactivity", 0)
    if isinstance(inactivity, bool) or not isinstance(inactivity, int) or inactivity < 0:
        raise ImportDocumentError(f"{where}.inactivity: milliseconds, a whole number >= 0")
    rules, dropped = _rules(item, where)
    problem = problem or _problem(ids.role_name, name)
    return ImportedRole(_canonical(name, problem, str.lower), uuid, inactivity, rules, dropped,
                        problem)


def _group(item: Data, where: str) -> ImportedGroup:
    path = _group_path(_text(item, "path", where) or "")
    uuid, problem = _optional_uuid(item, where)
    rules, dropped = _rules(item, where)
    roles, bad_roles = _names(item, "roles", where, ids.role_name)
    problem = problem or _problem(ids.group_path, path)
    return ImportedGroup(path, uuid, rules, roles, (*dropped, *bad_roles), problem)


def _user(item: Data, where: str) -> ImportedUser:
    username = _text(item, "username", where) or ""
    uuid, problem = _uuid_of(item, where)
    email = _text(item, "email", where) or None
    problem = problem or _problem(ids.username, username) or _problem(ids.email, email)
    password, password_problem = _password(item, where)
    rules, dropped = _rules(item, where)
    roles, bad_roles = _names(item, "roles", where, ids.role_name)
    groups, bad_groups = _names(item, "groups", where, lambda p: ids.group_path(_group_path(p)))
    return ImportedUser(
        uuid, username, email,
        _flag(item, "activated", where, default=True),
        _flag(item, "disabled", where, default=False),
        password, rules, roles, groups, (*dropped, *bad_roles, *bad_groups),
        problem or password_problem,
    )


def _admin(item: Data, where: str) -> ImportedAdmin:
    username = _text(item, "username", where) or ""
    uuid, problem = _uuid_of(item, where)
    email = _text(item, "email", where) or None
    problem = problem or _problem(ids.username, username) or _problem(ids.email, email)
    password, password_problem = _password(item, where)
    orgs, bad_orgs = _org_refs(item, where)
    # The original's three admin states, kept as they were: an admin still to be confirmed or
    # activated there is one here too, and may finish through the realm's activation flow.
    return ImportedAdmin(
        uuid,
        username,
        email,
        _flag(item, "disabled", where, default=False),
        _flag(item, "activated", where, default=True),
        _flag(item, "confirmed", where, default=True),
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
    names, dropped = _names(item, "organizations", where, ids.new_org_name, name_key="name")
    uuids: dict[str, str | None] = {}
    values = item.get("organizations", [])
    for index, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            uuid, problem = _optional_uuid(value, f"{where}.organizations[{index}]")
            uuids[value["name"].lower()] = None if problem else uuid
    return tuple((name, uuids.get(name)) for name in names), dropped


def _password(item: Data, where: str) -> tuple[ImportedPassword | None, str | None]:
    """The ``credentials.password`` record (None: the account has no password); also read
    from ``dictionaries.credentials``, where the original's export tools write it."""
    credentials, at = item.get("credentials"), f"{where}.credentials"
    dictionaries = item.get("dictionaries")
    if credentials is None and dictionaries is not None:
        credentials = _object(dictionaries, f"{where}.dictionaries").get("credentials")
        at = f"{where}.dictionaries.credentials"
    if credentials is None:
        return None, None
    record = _object(credentials, at).get("password")
    if record is None:
        return None, None
    inner = f"{at}.password"
    record = _object(record, inner)
    chain = _chain(record, inner)
    secret = _text(record, "secret", inner) or ""
    salt = _text(record, "salt", inner)
    if "" in chain:
        return None, "the credentials record names no scheme (cryptoChain, hashType, cipher)"
    unknown = [step for step in chain if step not in SCHEMES]
    if unknown:
        return None, f"unknown password scheme {unknown[0]!r} (known: {', '.join(SCHEMES)})"
    password = ImportedPassword(chain, secret, salt)
    problem = _problem(lambda s: _checked_secret(password), secret)
    return password, problem


def _chain(record: Data, where: str) -> tuple[str, ...]:
    """The commands of a record, as the original reads them: ``cryptoChain``, else the older
    ``hashType`` then ``cipher``, else ``cipher`` alone."""
    chain = record.get("cryptoChain")
    if chain:
        steps = _strings(chain, f"{where}.cryptoChain")
    elif record.get("hashType") is not None:
        steps = [_text(record, "hashType", where) or "", _text(record, "cipher", where) or ""]
    else:
        steps = [_text(record, "cipher", where) or ""]
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


# -- values ---------------------------------------------------------------------------------


def _object(value: object, where: str) -> Data:
    if not isinstance(value, dict):
        raise ImportDocumentError(f"{where}: expected a JSON object")
    return value


def _each(item: Data, key: str, where: str, read: Callable[[Data, str], T]) -> list[T]:
    values = item.get(key, [])
    if not isinstance(values, list):
        raise ImportDocumentError(f"{where}.{key}: expected an array")
    return [read(_object(v, f"{where}.{key}[{i}]"), f"{where}.{key}[{i}]")
            for i, v in enumerate(values)]


def _text(item: Data, key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ImportDocumentError(f"{where}.{key}: expected a string")
    return value


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImportDocumentError(f"{where}: expected an array of strings")
    return list(value)


def _flag(item: Data, key: str, where: str, *, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise ImportDocumentError(f"{where}.{key}: expected true or false")
    return value


def _ttl(item: Data, where: str) -> int | None:
    """``accesstokenttl`` in ms; the original accepts a number or a numeric string."""
    value = item.get("accesstokenttl")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ImportDocumentError(f"{where}.accesstokenttl: milliseconds, a whole number >= 0")


def _uuid_of(item: Data, where: str) -> tuple[str, str | None]:
    """The item's uuid (lower-case) and no problem, or the text given and what is wrong."""
    value = _text(item, "uuid", where)
    if value is None:
        return "", "it has no uuid"
    if not _UUID.fullmatch(value):
        return value, f"the uuid {value!r} is malformed"
    return value.lower(), None


def _optional_uuid(item: Data, where: str) -> tuple[str | None, str | None]:
    if item.get("uuid") is None:
        return None, None
    return _uuid_of(item, where)


def _rules(item: Data, where: str) -> tuple[tuple[str, ...], tuple[Dropped, ...]]:
    return _names(item, "permissions", where, lambda text: str(Rule.parse(text)))


def _names(
    item: Data, key: str, where: str, canonical: Callable[[str], str], *, name_key: str = ""
) -> tuple[tuple[str, ...], tuple[Dropped, ...]]:
    """A list of names (strings, or objects whose ``name_key`` is the name), each made
    canonical; those the realm refuses are dropped, with the reason."""
    kept: list[str] = []
    dropped: list[Dropped] = []
    values = item.get(key, [])
    if not isinstance(values, list):
        raise ImportDocumentError(f"{where}.{key}: expected an array")
    for index, value in enumerate(values):
        text = _name_in(value, name_key, f"{where}.{key}[{index}]")
        problem = _problem(canonical, text)
        if problem is None:
            kept.append(canonical(text))
        else:
            dropped.append(Dropped(_SINGULAR[key], text, problem))
    return tuple(dict.fromkeys(kept)), tuple(dropped)


_SINGULAR = {"permissions": "permission", "roles": "role", "groups": "group",
             "organizations": "organization"}


def _name_in(value: object, name_key: str, where: str) -> str:
    if name_key and isinstance(value, dict):
        value = value.get(name_key)
    if not isinstance(value, str):
        raise ImportDocumentError(f"{where}: expected a string")
    return value


def _problem(canonical: Callable[[str], object], value: str | None) -> str | None:
    """What the realm says is wrong with ``value`` (None: nothing, or no value)."""
    if value is None:
        return None
    try:
        canonical(value)
    except ConfigError as error:
        return str(error)
    return None


def _canonical(value: str, problem: str | None, canonical: Callable[[str], str]) -> str:
    return value if problem is not None else canonical(value)


def _group_path(path: str) -> str:
    """The original writes a group's path without its leading slash (``staff/editors``)."""
    return path if path.startswith("/") or not path else "/" + path
