"""What the Realm keeps in a store: the record types and their JSON form.

Users and admins are kept under their uuid; their usernames and emails are claims in one index
per app (one for admins) that maps each to a uuid, so any identifier names exactly one account
(behaviour §1). A record that does not decode to its type is a ``StoreError``: a corrupted store
fails closed. Does no I/O.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Literal, TypeVar

from baas_auth.errors import StoreError

__all__ = [
    "AdminRecord",
    "AdminRefreshRecord",
    "AppRecord",
    "ClientRecord",
    "GroupRecord",
    "IdentityProviderRecord",
    "OrgRecord",
    "RoleRecord",
    "TokenRecord",
    "UserRecord",
    "decode",
    "decode_text",
    "encode",
]

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
    refresh_token_ttl_ms: int | None = None
    """The life of a refresh-token family from its password grant (None: no refresh tokens)."""
    refresh_grace_ms: int = 0
    """How long the immediately previous refresh token may be presented again without ending
    its family (behaviour §9)."""


@dataclass(slots=True)
class AdminRefreshRecord:
    """The realm's refresh-token setting for its admin users (behaviour §9: "admins per
    realm"), as ``AppRecord``'s for an app's users; absent: off."""

    refresh_token_ttl_ms: int | None = None
    refresh_grace_ms: int = 0


@dataclass(slots=True)
class RoleRecord:
    name: str
    inactivity_ms: int = 0
    rules: list[str] = field(default_factory=list)
    uuid: str | None = None
    """The role's uuid: the original system's for an imported role, a new one for a role made
    here; None in records of earlier versions (``realm.grants.role_uuid`` derives one)."""


@dataclass(slots=True)
class GroupRecord:
    path: str
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    uuid: str | None = None
    """The group's uuid: the original system's for an imported group, a new one for a group
    made here; None in records of earlier versions (``realm.grants.group_uuid`` derives one)."""


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


@dataclass(slots=True)
class IdentityProviderRecord:
    """An identity provider an app (``app`` None: an org's admin users) trusts (behaviour §8).
    ``settings`` is the JSON of its keyword arguments (``IdentityProvider``'s fields), kept as
    text: an inline key set and a role map are nested values the checks here do not cover."""

    org: str
    app: str | None
    issuer: str
    settings: str


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
    refresh: bool = False
    """A refresh token's record: never accepted as a Bearer credential (behaviour §9)."""


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

