"""What the Realm keeps in a store: record types, their JSON form, key names, name rules.

Keys are built from lower-cased names (org, app and user names are case-insensitive), so a
lookup is one ``get``. Users and admins are kept under their uuid; their usernames and emails
are claims in one index per app (one for admins) that maps each to a uuid, so any identifier
names exactly one account (behaviour §1). A claim's key is the name *folded* (``fold``: NFKC
and case folding, invisible characters removed), so two names that look alike (a fullwidth
full stop and ``.``, the ligature fi and ``fi``) are one claim; an ASCII name folds to its
lower case, the key earlier versions wrote. A record that does not decode to its type is a
``StoreError``: a corrupted store fails closed. Does no I/O.
"""

from __future__ import annotations

import json
import re
import types
import typing
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Literal, TypeVar

from baas_auth.errors import ConfigError, StoreError

__all__ = [
    "AdminRecord",
    "AppRecord",
    "ClientRecord",
    "GroupRecord",
    "OrgRecord",
    "RoleRecord",
    "TokenRecord",
    "UserRecord",
    "decode",
    "encode",
]

_ORG_APP_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_ROLE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_GROUP_PATH = re.compile(r"(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){1,8}")
_EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]{1,255}")
# Any spelling Python's uuid.UUID() accepts as a whole, so no username can pass for a uuid.
_UUID_LIKE = re.compile(
    r"(?i)(?:urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?"
)
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,256}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RESERVED_ORGS = frozenset({"management"})
RESERVED_USERNAMES = frozenset({"me"})


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that show
# nothing, which NFKC_Casefold removes, so that "ca\u00adrol" is "carol".
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_FOLD_ROUNDS = 3  # NFKC and case folding settle in one or two rounds; a bound all the same


def fold(name: str) -> str:
    """The form in which usernames and emails are compared (behaviour §1): Unicode's
    NFKC_Casefold, as Python spells it — invisible characters removed, NFKC, case folded,
    NFKC again, until nothing changes. ``CAROL@X\uff0eIO`` (a fullwidth full stop),
    ``carol@x\u2024io`` (a dot leader) and ``carol@x.io`` fold alike, as do the ligature
    ``\ufb01`` and ``fi``, the Kelvin sign and ``k``, ``\u00df`` and ``ss``. An ASCII name folds
    to its lower case."""
    if name.isascii():
        return name.lower()
    folded = name
    for _ in range(_FOLD_ROUNDS):
        again = unicodedata.normalize("NFKC", _IGNORABLE.sub("", folded))
        again = unicodedata.normalize("NFKC", again.casefold())
        if again == folded:
            break
        folded = again
    return folded


def org_or_app_name(name: str, what: str) -> str:
    """The canonical (lower-case) org or app name, or ConfigError."""
    lowered = name.lower() if isinstance(name, str) else ""
    if not _ORG_APP_NAME.fullmatch(lowered):
        raise ConfigError(f"{what} names match [a-z0-9][a-z0-9_.-]* (up to 64 characters)")
    return lowered


def new_org_name(name: str) -> str:
    lowered = new_app_name(name, "organization")
    if lowered in RESERVED_ORGS:
        raise ConfigError(f"the organization name {lowered!r} is reserved")
    return lowered


def new_app_name(name: str, what: str = "application") -> str:
    """The name of a new org or app; never the form of a uuid, which addresses one in a path
    (``/{org-uuid}/{app-uuid}/…``), so a segment is a name or a uuid without doubt."""
    lowered = org_or_app_name(name, what)
    if looks_like_uuid(lowered):
        raise ConfigError(f"the {what} name {lowered!r} has the form of a uuid, which names one")
    return lowered


def username(name: str) -> str:
    """A valid username as given (case kept), or ConfigError; wildcards can never pass, and
    neither can the form of a uuid (a uuid names exactly one user, its own)."""
    if not isinstance(name, str) or not _USERNAME.fullmatch(name):
        raise ConfigError("usernames match [A-Za-z0-9][A-Za-z0-9._@+-]* (up to 128 characters)")
    if name.lower() in RESERVED_USERNAMES:
        raise ConfigError(f"the username {name!r} is reserved")
    if looks_like_uuid(name):
        raise ConfigError(f"the username {name!r} has the form of a uuid, which names users")
    return name


def looks_like_uuid(text: str) -> bool:
    """Whether ``text`` is any spelling of a uuid (hyphens or not, braces, ``urn:uuid:``)."""
    return _UUID_LIKE.fullmatch(text) is not None


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a uuid as this library writes them (lower-case, hyphenated)."""
    return _UUID.fullmatch(text) is not None


def identifier(text: object) -> str | None:
    """``text`` folded (``fold``) if it could name an account (a username, an email or a
    uuid), else None: a value no account can have is never sent to the store."""
    if not isinstance(text, str) or not text.isprintable() or len(text) > 321:
        return None
    if _USERNAME.fullmatch(text) or _EMAIL.fullmatch(text) or _UUID.fullmatch(text.lower()):
        return fold(text)
    return None


def is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text that UTF-8 can carry: JSON's ``"\\ud800"`` decodes to a
    lone surrogate, which no store, hash or log line can take as it is."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_client_id(text: object) -> bool:
    """Whether ``text`` could be a client_id (visible ASCII): anything else is unknown at once,
    without a store read."""
    return isinstance(text, str) and _CLIENT_ID.fullmatch(text) is not None


def role_name(name: str) -> str:
    lowered = name.lower() if isinstance(name, str) else ""
    if not _ROLE_NAME.fullmatch(lowered):
        raise ConfigError("role names match [a-z0-9][a-z0-9_.-]* (up to 64 characters)")
    return lowered


def group_path(path: str) -> str:
    if not isinstance(path, str) or not _GROUP_PATH.fullmatch(path):
        raise ConfigError("group paths look like /staff or /staff/editors")
    return path


def email(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise ConfigError("not an email address")
    return value


@dataclass(slots=True)
class OrgRecord:
    uuid: str
    name: str


@dataclass(slots=True)
class AppRecord:
    uuid: str
    org: str
    name: str
    access_token_ttl_ms: int | None = None


@dataclass(slots=True)
class RoleRecord:
    name: str
    inactivity_ms: int = 0
    rules: list[str] = field(default_factory=list)
    uuid: str | None = None
    """The original system's uuid of an imported role (None for one made here)."""


@dataclass(slots=True)
class GroupRecord:
    path: str
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    uuid: str | None = None
    """The original system's uuid of an imported group (None for one made here)."""


@dataclass(slots=True)
class UserRecord:
    uuid: str
    username: str
    email: str | None
    password_hash: str | None
    activated: bool = True
    disabled: bool = False
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AdminRecord:
    uuid: str
    username: str
    email: str | None
    password_hash: str | None
    orgs: list[str] = field(default_factory=list)
    disabled: bool = False
    # Absent from records written before admins had these states: such admins were usable.
    activated: bool = True
    confirmed: bool = True


@dataclass(slots=True)
class ClientRecord:
    client_id: str
    org: str
    app: str | None
    secret_hash: str


TokenKind = Literal["app_user", "app_client", "org_client", "admin_user"]


@dataclass(slots=True)
class TokenRecord:
    """What the store keeps of a token: whose it is and when it was made. Never the token."""

    kind: TokenKind
    subject: str
    """The user or admin uuid, or the client_id."""
    kid: str
    created_ms: int
    expires_at_ms: int | None
    org: str | None = None
    app: str | None = None
    username: str | None = None


R = TypeVar("R")

_Check = Callable[[object], bool]
_SCHEMAS: dict[type, dict[str, _Check]] = {}


def _check_for(hint: object) -> _Check:
    """A predicate for values of one annotated field type, as JSON can hold them."""
    if hint is bool:
        return lambda value: isinstance(value, bool)
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return lambda value: isinstance(value, str)
    if hint is type(None):
        return lambda value: value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args == (str,):
        return lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value)
    if origin is Literal:
        return lambda value: isinstance(value, str) and value in args
    if origin in (typing.Union, types.UnionType):
        return _either([_check_for(arg) for arg in args])
    raise TypeError(f"no JSON check for {hint!r}")  # a record type this module does not know


def _either(checks: list[_Check]) -> _Check:
    """Any of ``checks``; the common ``X | None`` without a generator (decoding a token's
    record is on the path of every token a process sees for the first time)."""
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) or second(value)
    return lambda value: any(check(value) for check in checks)


def _schema(kind: type) -> dict[str, _Check]:
    found = _SCHEMAS.get(kind)
    if found is None:
        hints = typing.get_type_hints(kind)
        found = _SCHEMAS[kind] = {f.name: _check_for(hints[f.name]) for f in fields(kind)}
    return found


def encode(record: object) -> bytes:
    """The JSON form of a record (a shallow read of its fields: they are plain JSON values)."""
    data = {name: getattr(record, name) for name in _schema(type(record))}
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def decode(kind: type[R], raw: bytes) -> R:
    """A record from its JSON form; unknown fields are ignored so newer writers stay readable.

    Raises:
        StoreError: the bytes are not a JSON object whose fields have this record's types (a
            corrupted or foreign record is a store failure: 503, never 500 and never "allow").
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise StoreError(f"a stored {kind.__name__} is not valid JSON") from None
    schema = _schema(kind)
    if not isinstance(data, dict):
        raise StoreError(f"a stored {kind.__name__} is not a JSON object")
    known = data if data.keys() <= schema.keys() else _known(data, schema)
    for name, value in known.items():
        if not schema[name](value):
            raise StoreError(f"a stored {kind.__name__} has a field of the wrong type")
    try:
        return kind(**known)
    except TypeError:  # a required field is missing
        raise StoreError(f"a stored {kind.__name__} lacks a field") from None


def _known(data: dict[str, object], schema: dict[str, _Check]) -> dict[str, object]:
    return {name: value for name, value in data.items() if name in schema}


def decode_text(raw: bytes, what: str) -> str:
    """A stored UTF-8 string (an index entry), or StoreError."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError(f"a stored {what} is not UTF-8 text") from None


def org_key(org: str) -> str:
    return f"org:{org}"


def org_prefix() -> str:
    return "org:"


def app_key(org: str, app: str) -> str:
    return f"app:{org}/{app}"


def app_prefix(org: str) -> str:
    return f"app:{org}/"


def role_key(org: str, app: str, role: str) -> str:
    return f"role:{org}/{app}:{role}"


def role_prefix(org: str, app: str) -> str:
    return f"role:{org}/{app}:"


def group_key(org: str, app: str, path: str) -> str:
    return f"group:{org}/{app}:{path.lower()}"


def group_prefix(org: str, app: str) -> str:
    return f"group:{org}/{app}:"


def user_key(org: str, app: str, user_uuid: str) -> str:
    return f"user:{org}/{app}:{user_uuid}"


def user_prefix(org: str, app: str) -> str:
    return f"user:{org}/{app}:"


def user_id_key(org: str, app: str, name: str) -> str:
    """The claim of a username or an email in an app: it holds the uuid of the one user."""
    return f"userid:{org}/{app}:{fold(name)}"


def admin_key(admin_uuid: str) -> str:
    return f"admin:{admin_uuid}"


def admin_prefix() -> str:
    return "admin:"


def admin_id_key(name: str) -> str:
    """The claim of an admin username or email: it holds the uuid of the one admin user."""
    return f"adminid:{fold(name)}"


def client_key(client_id: str) -> str:
    return f"client:{client_id}"


def client_prefix() -> str:
    return "client:"


def principal_key(record: TokenRecord) -> str:
    """The index under which a principal's tokens are kept, for revoke-all."""
    if record.kind == "app_user":
        return user_principal_key(record.org or "", record.app or "", record.subject)
    if record.kind == "admin_user":
        return admin_principal_key(record.subject)
    return client_principal_key(record.subject)


def user_principal_key(org: str, app: str, user_uuid: str) -> str:
    return f"user:{org}/{app}:{user_uuid}"


def admin_principal_key(admin_uuid: str) -> str:
    return f"admin:{admin_uuid}"


def client_principal_key(client_id: str) -> str:
    return f"client:{client_id}"
