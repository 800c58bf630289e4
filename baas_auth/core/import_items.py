"""What an import document holds, once read: its organizations, apps, roles, groups, users,
admins and their password records, each with a ``problem`` when the realm cannot take it. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baas_auth.core.legacy_hashes import WEAK_SCHEMES
from baas_auth.errors import ConfigError

__all__ = [
    "Data",
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
]

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

