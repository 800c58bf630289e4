"""What the Realm keeps in a store: record types, their JSON form, key names, name rules.

Keys are built from lower-cased names (org, app and user names are case-insensitive), so a
lookup is one ``get``. Does no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from baas_auth.errors import ConfigError

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
RESERVED_ORGS = frozenset({"management"})
RESERVED_USERNAMES = frozenset({"me"})


def org_or_app_name(name: str, what: str) -> str:
    """The canonical (lower-case) org or app name, or ConfigError."""
    lowered = name.lower() if isinstance(name, str) else ""
    if not _ORG_APP_NAME.fullmatch(lowered):
        raise ConfigError(f"{what} names match [a-z0-9][a-z0-9_.-]* (up to 64 characters)")
    return lowered


def new_org_name(name: str) -> str:
    lowered = org_or_app_name(name, "organization")
    if lowered in RESERVED_ORGS:
        raise ConfigError(f"the organization name {lowered!r} is reserved")
    return lowered


def username(name: str) -> str:
    """A valid username as given (case kept), or ConfigError; wildcards can never pass."""
    if not isinstance(name, str) or not _USERNAME.fullmatch(name):
        raise ConfigError("usernames match [A-Za-z0-9][A-Za-z0-9._@+-]* (up to 128 characters)")
    if name.lower() in RESERVED_USERNAMES:
        raise ConfigError(f"the username {name!r} is reserved")
    return name


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


@dataclass(slots=True)
class GroupRecord:
    path: str
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


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


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def encode(record: object) -> bytes:
    """The JSON form of a record (a shallow read of its fields: they are plain JSON values)."""
    data = {name: getattr(record, name) for name in _field_names(type(record))}
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def decode(kind: type[R], raw: bytes) -> R:
    """A record from its JSON form; unknown fields are ignored so newer writers stay readable."""
    data: dict[str, Any] = json.loads(raw.decode("utf-8"))
    names = _field_names(kind)
    return kind(**{k: v for k, v in data.items() if k in names})


def org_key(org: str) -> str:
    return f"org:{org}"


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


def user_key(org: str, app: str, name: str) -> str:
    return f"user:{org}/{app}:{name.lower()}"


def user_alias_key(org: str, app: str, alias: str) -> str:
    """An index from a user's email or uuid to its username."""
    return f"useralias:{org}/{app}:{alias.lower()}"


def admin_key(name: str) -> str:
    return f"admin:{name.lower()}"


def admin_alias_key(alias: str) -> str:
    return f"adminalias:{alias.lower()}"


def client_key(client_id: str) -> str:
    return f"client:{client_id}"


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
