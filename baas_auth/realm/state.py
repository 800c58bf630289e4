"""What one realm holds between calls, whichever driver runs its flows: its settings, the
directory snapshot of the newest generation it has seen, its key ring, and which realm (by its
marker) it serves.

Shared by every thread (WSGI) or task (ASGI) using the realm: replacing the snapshot or the key
ring is one reference assignment, and each snapshot guards its own tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

from typing_extensions import TypedDict, Unpack

from baas_auth.core.hashing import PasswordHasher
from baas_auth.core.permissions import RuleCache
from baas_auth.core.throttle import LoginThrottle
from baas_auth.core.tokens import DEFAULT_MAX_TTL_MS, SigningKey
from baas_auth.errors import ConfigError, MalformedTokenError
from baas_auth.model import UserToken
from baas_auth.realm.cache import Snapshot
from baas_auth.realm.keys import RELOAD_INTERVAL_MS, KeyRing

__all__ = [
    "DEFAULT_ACTIVATION_TOKEN_TTL_MS",
    "DEFAULT_MIN_PASSWORD_LENGTH",
    "DEFAULT_RESET_TOKEN_TTL_MS",
    "MAX_USER_TOKEN_TTL_MS",
    "RealmOptions",
    "RealmSettings",
    "RealmState",
    "UserTokenHook",
]

DEFAULT_MIN_PASSWORD_LENGTH = 8
DEFAULT_RESET_TOKEN_TTL_MS = 3_600_000  # an hour: a reset link is used at once or not at all
DEFAULT_ACTIVATION_TOKEN_TTL_MS = 86_400_000  # a day: activation may wait for someone's approval
MAX_USER_TOKEN_TTL_MS = 86_400_000
"""The longest a reset, activation or confirmation token may live: a transient record lives at
most a day (the stores collect older ones on that assumption); ask for a new token after."""

UserTokenHook = Callable[[UserToken], object]


class RealmOptions(TypedDict, total=False):
    """The keyword options of ``Realm`` and ``AsyncRealm`` (and their ``open``), each optional;
    a bad value is a ``ConfigError``, an unknown name a ``TypeError`` (docs/configuration.md)."""

    clock: Callable[[], float]
    """Seconds since the epoch (``time.time``); tests pass a fake one."""
    max_token_ttl_ms: int
    """The default and ceiling of a token's life, in ms (7 days); an app's ``accesstokenttl``
    may exceed it for that app's user tokens."""
    signing_keys: Sequence[SigningKey] | None
    """MAC keys from configuration, current first; None (the default): a key is generated once
    and kept in the store."""
    password_hasher: PasswordHasher | None
    """The scrypt cost (``PasswordHasher()``); lower it only in test suites."""
    min_password_length: int
    """The fewest characters a new password may have, 1 to 1024 (8)."""
    login_throttle: LoginThrottle | None
    """How failed password grants lock an account (``LoginThrottle()``); None switches
    throttling off."""
    on_user_token: UserTokenHook | None
    """Called with a ``UserToken`` (a password reset, activation or confirmation token) for the
    application to deliver; the middleware sends no mail (None)."""
    reset_token_ttl_ms: int
    """How long a password reset token lives, 1 ms to a day (an hour)."""
    activation_token_ttl_ms: int
    """How long an activation or confirmation token lives, 1 ms to a day (a day)."""
    revoke_tokens_on_password_change: bool
    """Whether setting a password (change or reset) revokes the account's tokens (True)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RealmSettings:
    """A realm's options, checked once (``ConfigError`` for a bad one)."""

    clock: Callable[[], float] = time.time
    max_token_ttl_ms: int = DEFAULT_MAX_TTL_MS
    signing_keys: tuple[SigningKey, ...] | None = None
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH
    login_throttle: LoginThrottle | None = field(default_factory=LoginThrottle)
    on_user_token: UserTokenHook | None = None
    reset_token_ttl_ms: int = DEFAULT_RESET_TOKEN_TTL_MS
    activation_token_ttl_ms: int = DEFAULT_ACTIVATION_TOKEN_TTL_MS
    revoke_tokens_on_password_change: bool = True

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
        on_user_token: UserTokenHook | None = None,
        reset_token_ttl_ms: int = DEFAULT_RESET_TOKEN_TTL_MS,
        activation_token_ttl_ms: int = DEFAULT_ACTIVATION_TOKEN_TTL_MS,
        revoke_tokens_on_password_change: bool = True,
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
        _check_user_tokens(on_user_token, reset_token_ttl_ms, activation_token_ttl_ms)
        if not isinstance(revoke_tokens_on_password_change, bool):
            raise ConfigError("revoke_tokens_on_password_change is True or False")
        return cls(
            clock=clock,
            max_token_ttl_ms=max_token_ttl_ms,
            signing_keys=None if signing_keys is None else tuple(signing_keys),
            password_hasher=password_hasher or PasswordHasher(),
            min_password_length=min_password_length,
            login_throttle=login_throttle,
            on_user_token=on_user_token,
            reset_token_ttl_ms=reset_token_ttl_ms,
            activation_token_ttl_ms=activation_token_ttl_ms,
            revoke_tokens_on_password_change=revoke_tokens_on_password_change,
        )

    @classmethod
    def from_options(cls, **options: Unpack[RealmOptions]) -> RealmSettings:
        """``build`` from a realm's keyword options, naming an unknown one as what it is (type
        checkers catch it first; a dict built at runtime may still hold one)."""
        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise TypeError(
                f"unknown realm option {', '.join(map(repr, unknown))}; "
                f"the options are {', '.join(sorted(_OPTION_NAMES))}"
            )
        return cls.build(**options)


_OPTION_NAMES = frozenset(RealmOptions.__optional_keys__)


def _check_user_tokens(hook: object, reset_ttl_ms: object, activation_ttl_ms: object) -> None:
    if hook is not None and not callable(hook):
        raise ConfigError("on_user_token is a callable taking a UserToken, or None")
    for name, value in (("reset", reset_ttl_ms), ("activation", activation_ttl_ms)):
        if not _whole(value) or not 1 <= value <= MAX_USER_TOKEN_TTL_MS:
            raise ConfigError(
                f"{name}_token_ttl_ms is a whole number of milliseconds from 1 to "
                f"{MAX_USER_TOKEN_TTL_MS} (a day)"
            )


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class RealmState:
    """The settings, the newest snapshot and the key ring of one realm."""

    __slots__ = ("create", "keys", "keys_checked_ms", "realm_id", "rules", "settings", "snapshot")

    def __init__(self, settings: RealmSettings, *, create: bool = False) -> None:
        self.settings = settings
        self.create = create
        """Whether opening may set up a store that holds no realm (``Realm.open(create=True)``)."""
        self.realm_id: bytes | None = None
        """The marker of the realm this process serves (``realm.marker``); None: none yet."""
        self.rules = RuleCache()
        self.snapshot = Snapshot(-1)
        self.keys: KeyRing | None = None
        """None until the first flow loads it."""
        self.keys_checked_ms = -RELOAD_INTERVAL_MS
        """When an unknown key id last made this realm read the keys again."""

    def now_ms(self) -> int:
        return int(self.settings.clock() * 1000)

    def ring(self) -> KeyRing:
        """The key ring; a token cannot be checked without one (the drivers load it before
        any flow, so this refuses only what nothing could have verified)."""
        if self.keys is None:
            raise MalformedTokenError()
        return self.keys
