"""Throttling of password grants per account (behaviour §6.2): how many failures lock it, for
how long, and how many checks of its password may run at once. Pure: the Realm reads and swaps
the stored state; this module decides.

An account's state is the number of failed grants in a row, the time of the last one, the
checks of its password in flight and the grants waiting for a turn. Only failures count
(*rev 3*): a grant reserves a check before running the KDF, and a check is allowed only while
the failures so far plus the checks in flight stay within ``max_failures``, so a burst of
parallel guesses never gets more checks than the budget, whichever of them fail. A grant that
finds the budget taken by checks in flight waits for them (in turn, first come first served)
instead of being refused: it is refused (429) only once the account is locked by failures.
A success clears the failures. A reservation whose check never ends (its process died) counts
as a failure once its lease runs out, never as a free check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

from baas_auth.errors import ConfigError

__all__ = ["Attempts", "LoginThrottle", "Turn"]

_DAY_MS = 86_400_000
WAITING_LEASE_MS = 2_000
"""How long a waiting grant keeps its place without looking again (it looks every few tens of
milliseconds while it lives; a grant whose process died loses its place after this)."""
MAX_WAITING = 256
"""Grants that may wait for one account at once; one more is 429, as a flood."""

Lease = tuple[str, int]
"""A ticket and the time (ms) its check or its place in the queue lapses."""


class Attempts(NamedTuple):
    """What is kept of an account's recent grants."""

    failures: int
    last_ms: int
    checks: tuple[Lease, ...] = ()
    """Checks of the password in flight."""
    waiting: tuple[Lease, ...] = ()
    """Grants waiting for a check, first come first."""

    def encode(self) -> bytes | None:
        """The stored form; None when there is nothing to keep. Without checks or waiting
        grants it is the form earlier versions wrote and read (``[failures, last_ms]``)."""
        if not (self.failures or self.checks or self.waiting):
            return None
        if not (self.checks or self.waiting):
            return json.dumps([self.failures, self.last_ms]).encode("ascii")
        leases = [[list(lease) for lease in self.checks], [list(w) for w in self.waiting]]
        return json.dumps([self.failures, self.last_ms, *leases]).encode("ascii")

    @classmethod
    def decode(cls, raw: bytes | None) -> Attempts:
        """The stored state; a missing or unreadable record counts as no failures.

        Unreadable state is forgotten rather than refused: the store is not trusted with more
        than a counter here, and a refusal would lock every account whose record broke.
        """
        if raw is None:
            return _NONE
        try:
            found = json.loads(raw)
            failures, last_ms, *leases = found if isinstance(found, list) else []
            checks, waiting = leases if leases else ([], [])
            state = cls(failures, last_ms, _leases(checks), _leases(waiting))
        except (ValueError, TypeError):
            return _NONE
        if not (_whole(failures) and _whole(last_ms)):
            return _NONE
        return state


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _leases(found: object) -> tuple[Lease, ...]:
    if not isinstance(found, list):
        raise ValueError("not a list of leases")
    leases = []
    for item in found:
        ticket, until = item
        if not (isinstance(ticket, str) and _whole(until)):
            raise ValueError("not a lease")
        leases.append((ticket, until))
    return tuple(leases)


_NONE = Attempts(0, 0)


class Turn(NamedTuple):
    """What a grant may do now, and the state that records it."""

    state: Attempts
    check: bool
    """Run the KDF now (its reservation is in ``state``)."""
    locked_ms: int
    """Above 0: refuse with 429 for this long. Neither: wait, then ask again."""


def _positive_ms(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _DAY_MS:
        raise ConfigError(f"{name} is a whole number of milliseconds, above 0 and at most a day")


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """How password grants of one account are throttled.

    After ``max_failures`` failed grants, each within ``window_ms`` of the previous one (or of
    the end of its lock), the account is locked for ``first_lock_ms``; each further failure
    doubles the lock, up to ``max_lock_ms``. While locked, grants are answered 429 without
    checking the password. A success, or ``window_ms`` without a failure, clears the count.
    At most ``max_failures`` minus the failures so far checks run at once (one, after a lock);
    other grants wait for them. A check still in flight after ``check_lease_ms`` (its process
    died) counts as a failure.
    """

    max_failures: int = 5
    window_ms: int = 900_000
    first_lock_ms: int = 1_000
    max_lock_ms: int = 900_000
    check_lease_ms: int = 60_000

    def __post_init__(self) -> None:
        if isinstance(self.max_failures, bool) or not isinstance(self.max_failures, int):
            raise ConfigError("max_failures is a whole number >= 1")
        if self.max_failures < 1:
            raise ConfigError("max_failures is a whole number >= 1")
        _positive_ms(self.window_ms, "window_ms")
        _positive_ms(self.first_lock_ms, "first_lock_ms")
        _positive_ms(self.max_lock_ms, "max_lock_ms")
        _positive_ms(self.check_lease_ms, "check_lease_ms")
        if self.first_lock_ms > self.max_lock_ms:
            raise ConfigError("first_lock_ms may not exceed max_lock_ms")

    def current(self, state: Attempts, now_ms: int) -> Attempts:
        """``state`` with checks whose lease ran out counted as failures, lapsed places in the
        queue dropped, and failures forgotten once ``window_ms`` has passed since the last one
        ended its lock (a lock longer than the window must not wipe the count)."""
        lapsed = [until for _, until in state.checks if until <= now_ms]
        failures, last_ms = state.failures, state.last_ms
        if failures and now_ms - last_ms > self.window_ms + self._lock_ms(failures):
            failures, last_ms = 0, 0
        if lapsed:
            failures, last_ms = failures + len(lapsed), max(last_ms, *lapsed)
        return Attempts(
            failures,
            last_ms,
            tuple(lease for lease in state.checks if lease[1] > now_ms),
            tuple(lease for lease in state.waiting if lease[1] > now_ms),
        )

    def locked_for_ms(self, state: Attempts, now_ms: int) -> int:
        """How much longer the account is locked (0: a grant may be tried now)."""
        found = self.current(state, now_ms)
        return max(0, found.last_ms + self._lock_ms(found.failures) - now_ms)

    def _lock_ms(self, failures: int) -> int:
        if failures < self.max_failures:
            return 0
        doublings = min(failures - self.max_failures, 40)  # 2**40 ms is past any cap
        return min(self.first_lock_ms << doublings, self.max_lock_ms)

    def _budget(self, failures: int) -> int:
        """How many checks may be in flight: what is left of ``max_failures``, or one at a
        time once a lock has ended (each failure then locks again)."""
        return max(1, self.max_failures - failures)

    def take_turn(self, state: Attempts, ticket: str, now_ms: int) -> Turn:
        """What the grant holding ``ticket`` may do now: check its password (a reservation is
        added), be refused (the account is locked, or too many wait), or wait its turn."""
        found = self.current(state, now_ms)
        others = tuple(lease for lease in found.waiting if lease[0] != ticket)
        locked_ms = self.locked_for_ms(found, now_ms)
        if locked_ms:
            return Turn(found._replace(waiting=others), False, locked_ms)
        place = next((i for i, (held, _) in enumerate(found.waiting) if held == ticket), None)
        ahead = len(found.waiting) if place is None else place
        if ahead < self._budget(found.failures) - len(found.checks):
            checks = (*found.checks, (ticket, now_ms + self.check_lease_ms))
            return Turn(found._replace(checks=checks, waiting=others), True, 0)
        return self._wait(found, ticket, place, now_ms)

    @staticmethod
    def _wait(found: Attempts, ticket: str, place: int | None, now_ms: int) -> Turn:
        """Keep the grant's place in the queue: join it at the end (refused when it is full),
        or renew the place once half of its lease has passed."""
        lease = (ticket, now_ms + WAITING_LEASE_MS)
        if place is None:
            if len(found.waiting) >= MAX_WAITING:
                return Turn(found, False, 1_000)
            return Turn(found._replace(waiting=(*found.waiting, lease)), False, 0)
        if found.waiting[place][1] - now_ms >= WAITING_LEASE_MS // 2:
            return Turn(found, False, 0)
        waiting = (*found.waiting[:place], lease, *found.waiting[place + 1 :])
        return Turn(found._replace(waiting=waiting), False, 0)

    def settle(self, state: Attempts, ticket: str, now_ms: int, *, succeeded: bool) -> Attempts:
        """The state once the check of ``ticket`` has ended: a success clears the failures; a
        failure counts, unless its reservation had already lapsed and been counted."""
        counted = not any(held == ticket and until > now_ms for held, until in state.checks)
        found = self.current(state, now_ms)
        checks = tuple(lease for lease in found.checks if lease[0] != ticket)
        if succeeded:
            return Attempts(0, 0, checks, found.waiting)
        if counted:
            return found._replace(checks=checks)
        return Attempts(found.failures + 1, now_ms, checks, found.waiting)

    def keep_until_ms(self, now_ms: int) -> int:
        """When a state written now stops mattering (the store may then collect it)."""
        return now_ms + self.window_ms + self.max_lock_ms + self.check_lease_ms
