"""Throttling of password grants per account (behaviour §6.2): how many failures lock it, and
for how long. Pure: the Realm reads and swaps the stored state; this module decides.

An account's state is the number of failed grants in a row and the time of the last one. Every
attempt that is not refused counts as a failure *before* the password is checked, and a success
clears the state: then a burst of parallel guesses is counted as it arrives, and never gets more
than ``max_failures`` checks of the password past the lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

from baas_auth.errors import ConfigError

__all__ = ["Attempts", "LoginThrottle"]

_DAY_MS = 86_400_000


class Attempts(NamedTuple):
    """What is kept of an account's recent failed grants."""

    failures: int
    last_ms: int

    def encode(self) -> bytes:
        return json.dumps([self.failures, self.last_ms]).encode("ascii")

    @classmethod
    def decode(cls, raw: bytes | None) -> Attempts:
        """The stored state; a missing or unreadable record counts as no failures.

        Unreadable state is forgotten rather than refused: it only ever makes the lock shorter,
        and the store is not trusted with more than a counter here.
        """
        if raw is None:
            return _NONE
        try:
            failures, last_ms = json.loads(raw)
        except (ValueError, TypeError):
            return _NONE
        if not (isinstance(failures, int) and isinstance(last_ms, int)) or failures < 0:
            return _NONE
        return cls(failures, last_ms)


_NONE = Attempts(0, 0)


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
    """

    max_failures: int = 5
    window_ms: int = 900_000
    first_lock_ms: int = 1_000
    max_lock_ms: int = 900_000

    def __post_init__(self) -> None:
        if isinstance(self.max_failures, bool) or not isinstance(self.max_failures, int):
            raise ConfigError("max_failures is a whole number >= 1")
        if self.max_failures < 1:
            raise ConfigError("max_failures is a whole number >= 1")
        _positive_ms(self.window_ms, "window_ms")
        _positive_ms(self.first_lock_ms, "first_lock_ms")
        _positive_ms(self.max_lock_ms, "max_lock_ms")
        if self.first_lock_ms > self.max_lock_ms:
            raise ConfigError("first_lock_ms may not exceed max_lock_ms")

    def current(self, state: Attempts, now_ms: int) -> Attempts:
        """``state`` with its failures forgotten once ``window_ms`` has passed since the last
        one ended its lock (a lock longer than the window must not wipe the count)."""
        if state.failures and now_ms - state.last_ms > self.window_ms + self._lock_ms(state):
            return _NONE
        return state

    def locked_for_ms(self, state: Attempts, now_ms: int) -> int:
        """How much longer the account is locked (0: a grant may be tried now)."""
        return max(0, state.last_ms + self._lock_ms(self.current(state, now_ms)) - now_ms)

    def _lock_ms(self, state: Attempts) -> int:
        if state.failures < self.max_failures:
            return 0
        doublings = min(state.failures - self.max_failures, 40)  # 2**40 ms is past any cap
        return min(self.first_lock_ms << doublings, self.max_lock_ms)

    def attempted(self, state: Attempts, now_ms: int) -> Attempts:
        """The state after one more attempt, counted as a failure until it succeeds."""
        return Attempts(self.current(state, now_ms).failures + 1, now_ms)

    def keep_until_ms(self, now_ms: int) -> int:
        """When a state written now stops mattering (the store may then collect it)."""
        return now_ms + self.window_ms + self.max_lock_ms
