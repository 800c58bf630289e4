"""A passive cache of directory records for one store generation: it answers or says MISS.

It never reads the store: a flow that meets a miss loads the record (one store command) and
hands it back with ``remember``. Every directory write bumps the store's generation, and a
realm that sees a new generation starts a new Snapshot, so a change made by any process applies
to the next request of every process. Bounded: a full table is emptied and refilled on demand.
"""

from __future__ import annotations

import enum
import threading
from typing import Generic, Literal, NamedTuple, TypeVar

from baas_auth.core import records as rec
from baas_auth.core.permissions import Matcher
from baas_auth.core.policy import UserPolicy
from baas_auth.model import TokenInfo

__all__ = ["MISS", "FederatedLocal", "Miss", "Snapshot", "Table"]

K = TypeVar("K")
V = TypeVar("V")
_MAX_ENTRIES = 50_000  # per table


class Miss(enum.Enum):
    """The answer of a table that does not hold the key (None is a value: "no such record")."""

    MISS = "MISS"


MISS = Miss.MISS


class Table(Generic[K, V]):
    """One kind of record of one generation, by key; safe to share between threads."""

    __slots__ = ("_entries", "_lock")

    def __init__(self, lock: threading.Lock) -> None:
        self._entries: dict[K, V] = {}
        self._lock = lock

    def lookup(self, key: K) -> V | Literal[Miss.MISS]:
        return self._entries.get(key, MISS)

    def remember(self, key: K, value: V) -> V:
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value
        return value


class FederatedLocal(NamedTuple):
    """What an app holds about a username that an identity provider's token names: the cutoff
    of its provider tokens (ms; None: none), its local user (None: none), and whether the name
    is instead another user's email."""

    cutoff_ms: int | None
    user: rec.UserRecord | None
    foreign: bool


class Snapshot:
    """Directory records of one generation: orgs, apps, roles, users' policies, admins,
    clients, compiled guest rules, what each token seen in this generation stands for, the
    names of orgs and apps addressed by uuid, and what an app holds about a username an identity
    provider's token names."""

    __slots__ = (
        "admins",
        "apps",
        "clients",
        "federated",
        "generation",
        "guests",
        "names",
        "orgs",
        "roles",
        "tokens",
        "users",
        "visitors",
    )

    def __init__(self, generation: int) -> None:
        lock = threading.Lock()
        self.generation = generation
        self.orgs: Table[str, rec.OrgRecord | None] = Table(lock)
        self.apps: Table[tuple[str, str], rec.AppRecord | None] = Table(lock)
        self.roles: Table[tuple[str, str], dict[str, rec.RoleRecord]] = Table(lock)
        self.guests: Table[tuple[str, str, bool], Matcher | None] = Table(lock)
        self.users: Table[tuple[str, str, str], UserPolicy | None] = Table(lock)
        self.admins: Table[str, rec.AdminRecord | None] = Table(lock)
        self.clients: Table[str, rec.ClientRecord | None] = Table(lock)
        self.tokens: Table[str, TokenInfo | None] = Table(lock)
        self.federated: Table[tuple[str, str, str], FederatedLocal] = Table(lock)
        # A provider token's visitor (no local user) by its uuid, which names what its token
        # grants: what a route guard's role check reads (no store record holds a visitor).
        self.visitors: Table[tuple[str, str, str], rec.UserRecord] = Table(lock)
        # An org's or app's name by its uuid ("org:<uuid>", "app:<org>/<uuid>"), None: none.
        self.names: Table[str, str | None] = Table(lock)
