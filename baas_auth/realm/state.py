"""What one realm holds between calls, whichever driver runs its flows: its settings, the
directory snapshot of the newest generation it has seen, and its key ring.

Shared by every thread (WSGI) or task (ASGI) using the realm: replacing the snapshot or the key
ring is one reference assignment, and each snapshot guards its own tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from baas_auth.errors import ConfigError
from baas_auth.hashing import PasswordHasher
from baas_auth.permissions import RuleCache
from baas_auth.realm.cache import Snapshot
from baas_auth.realm.keys import RELOAD_INTERVAL_MS, KeyRing
from baas_auth.throttle import LoginThrottle
from baas_auth.tokens import DEFAULT_MAX_TTL_MS, SigningKey

__all__ = ["DEFAULT_MIN_PASSWORD_LENGTH", "RealmSettings", "RealmState"]

DEFAULT_MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class RealmSettings:
    """A realm's options, checked once (``ConfigError`` for a bad one)."""

    clock: Callable[[], float] = time.time
    max_token_ttl_ms: int = DEFAULT_MAX_TTL_MS
    signing_keys: tuple[SigningKey, ...] | None = None
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH
    login_throttle: LoginThrottle | None = field(default_factory=LoginThrottle)

    @classmethod
    def build(
        cls,
        *,
        clock: Callable[[], float] = time.time,
        max_token_ttl_ms: int = DEFAULT_MAX_TTL_MS,
        signing_keys: Sequence[SigningKey] | None = None,
        password_hasher: PasswordHasher | None = None,
        min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH,
        login_throttle: LoginThrottle | None = LoginThrottle(),  # noqa: B008 - frozen value
    ) -> RealmSettings:
        if not _whole(max_token_ttl_ms) or max_token_ttl_ms <= 0:
            raise ConfigError("max_token_ttl_ms is a whole number of milliseconds > 0")
        if not _whole(min_password_length) or not 1 <= min_password_length <= 1024:
            raise ConfigError("min_password_length is a whole number from 1 to 1024")
        if login_throttle is not None and not isinstance(login_throttle, LoginThrottle):
            raise ConfigError("login_throttle is a LoginThrottle(...) or None (no throttling)")
        if password_hasher is not None and not isinstance(password_hasher, PasswordHasher):
            raise ConfigError("password_hasher is a PasswordHasher(...)")
        if signing_keys is not None and not signing_keys:
            raise ConfigError("signing_keys, when given, holds at least one key")
        return cls(
            clock=clock,
            max_token_ttl_ms=max_token_ttl_ms,
            signing_keys=None if signing_keys is None else tuple(signing_keys),
            password_hasher=password_hasher or PasswordHasher(),
            min_password_length=min_password_length,
            login_throttle=login_throttle,
        )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class RealmState:
    """The settings, the newest snapshot and the key ring of one realm."""

    __slots__ = ("keys", "keys_checked_ms", "rules", "settings", "snapshot")

    def __init__(self, settings: RealmSettings) -> None:
        self.settings = settings
        self.rules = RuleCache()
        self.snapshot = Snapshot(-1)
        self.keys: KeyRing | None = None
        """None until the first flow loads it."""
        self.keys_checked_ms = -RELOAD_INTERVAL_MS
        """When an unknown key id last made this realm read the keys again."""

    def now_ms(self) -> int:
        return int(self.settings.clock() * 1000)
