"""What a gate remembers of its decisions, to give them again while nothing they rest on changed.

A decision is remembered with the store's change stamp read before it began (behaviour §7's
per-request freshness check): it is given again only while the stamp read for the new request
is the same, so a change made anywhere, by any process, sends the next request to a full
decision. An admission also ends with its token's expiry. Only decisions that rest on nothing
else are remembered (the gate decides which); every table is bounded, and emptied when full.

A token's validity (what its store record said: not revoked, and whose it is) is remembered the
same way, apart from the requests it came with: a known token on a path never seen then costs no
store read, only the rules. Same stamp, same rules of what may be remembered, and the token's
own expiry still checked (and, where the store's stamp may be stale, not at all).

Pure: no I/O, no clock (the caller passes the time).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple, TypeVar

from baas_auth.core.http import RequestInfo
from baas_auth.core.routing import Route
from baas_auth.core.tokens import UnknownKeyError
from baas_auth.errors import AuthError
from baas_auth.middleware.decisions import Admit
from baas_auth.model import Principal

__all__ = ["CACHE_SIZE", "Admitted", "KnownToken", "Recalls", "Refused"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CACHE_SIZE = 4096
"""Entries per table: as many as the gate's parsed requests."""


class Admitted(NamedTuple):
    """An admission, the stamp it was made under, and its token's expiry (None: never, or no
    token)."""

    stamp: int
    expires_at_ms: int | None
    admit: Admit
    request: RequestInfo
    route: Route


class Refused(NamedTuple):
    """A refusal, the stamp it was made under, who was refused (None: not known yet), and the
    expiry written in the token it found valid (None: never, or it rests on no valid token):
    once the token has expired, the answer is 401 ``expired_token``, not this one."""

    stamp: int
    error: AuthError
    request: RequestInfo
    route: Route | None
    principal: Principal | None
    expires_at_ms: int | None = None


class KnownToken(NamedTuple):
    """Whom a valid token stands for, the stamp its store record was read under, and the
    expiry written in it (None: never)."""

    stamp: int
    principal: Principal
    expires_at_ms: int | None


def may_remember_refusal(error: Exception) -> bool:
    """Whether a refusal rests on the request and the store alone. Not a store failure (503:
    the next request must try the store again), and not a key id the ring does not know: the
    ring reloads at most once a second, so that refusal may not hold a second later."""
    return isinstance(error, AuthError) and not isinstance(error, UnknownKeyError)


class Recalls:
    """The remembered admissions and refusals of one gate, by request key (the gate reads
    ``admitted`` itself, on its hottest path, and checks the stamp and the expiry), and the
    tokens it found valid, by token."""

    __slots__ = ("admitted", "refused", "tokens")

    def __init__(self) -> None:
        self.admitted: dict[Hashable, Admitted] = {}
        self.refused: dict[Hashable, Refused] = {}
        self.tokens: dict[str, KnownToken] = {}

    def known_token(self, token: str, stamp: int | None, now_ms: int) -> KnownToken | None:
        """The token's validity as read under ``stamp``, unless it has expired since."""
        return _current(self.tokens.get(token), stamp, now_ms)

    def remember_token(self, token: str, entry: KnownToken) -> None:
        _bounded(self.tokens)[token] = entry

    def refusal(self, key: Hashable, stamp: int | None, now_ms: int) -> Refused | None:
        """The refusal made under ``stamp``, unless its token has expired since."""
        return _current(self.refused.get(key), stamp, now_ms)

    def remember_admission(self, key: Hashable, entry: Admitted) -> None:
        _bounded(self.admitted)[key] = entry
        self.refused.pop(key, None)

    def remember_refusal(self, key: Hashable, entry: Refused) -> None:
        _bounded(self.refused)[key] = entry
        self.admitted.pop(key, None)


E = TypeVar("E", KnownToken, Refused)


def _current(entry: E | None, stamp: int | None, now_ms: int) -> E | None:
    """``entry`` if it was made under ``stamp`` and its token has not expired since."""
    if entry is None or entry.stamp != stamp:
        return None
    expires = entry.expires_at_ms
    return entry if expires is None or now_ms < expires else None


def _bounded(table: dict[K, V]) -> dict[K, V]:
    if len(table) >= CACHE_SIZE:
        table.clear()
    return table
