"""The keys of one identity provider, cached, fetched at most one at a time (behaviour §8).

The first use fetches the key set; every thread that arrives meanwhile waits for that one
fetch. A token naming an unknown ``kid`` may fetch again, but at most once per cooldown however
many such tokens arrive: random ``kid`` values cannot turn into outbound requests. A set older
than ``max_age_s`` is refreshed by one caller while the others go on with it, so a key the
provider withdrew stops verifying. A failed fetch keeps the last good keys; a provider whose keys
were never obtained answers ``KeySetUnavailableError`` (503, like a store that is down).
The async entries never fetch on the event loop: they run the same single flight in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwk import KeySet, parse_jwks
from baas_auth.errors import StoreError
from baas_auth.federation.jwks_fetch import JWKSFetchError, fetch_jwks

__all__ = ["DEFAULT_MAX_AGE_S", "Fetch", "KeySetUnavailableError", "ProviderKeys"]

_LOGGER = logging.getLogger("baas_auth")

Fetch = Callable[[str, float], object]
"""``(url, timeout_s) -> JSON document``; raises ``JWKSFetchError`` (or ``OSError``)."""

DEFAULT_MAX_AGE_S = 300.0
"""How long a fetched key set is used before one caller refreshes it."""


class KeySetUnavailableError(StoreError):
    """The provider's keys were never obtained and cannot be fetched now: its tokens are 503."""


class ProviderKeys:
    """The current key set of one provider, and the rules for fetching it again."""

    def __init__(
        self,
        provider: IdentityProvider,
        *,
        fetch: Fetch = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        self.provider = provider
        self._fetch = fetch
        self._clock = clock
        self._max_age_s = max_age_s
        self._flight = threading.Lock()  # held by the one caller that is fetching
        self._keys: KeySet | None = None  # None until a fetch succeeds
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self.fetches = 0
        """How many fetches were started (for tests and metrics)."""
        if provider.jwks is not None:
            self._keys = parse_jwks(provider.jwks, provider.algorithms)

    def keys(self) -> KeySet:
        """The keys to verify with now; may fetch (first use, or a stale set), blocking."""
        current = self._keys
        if current is None:
            return self._fly(seen=None)
        if self._wants_refresh():
            self._refresh_in_passing()
        return self._keys or current

    def after_unknown_kid(self, seen: KeySet) -> KeySet | None:
        """A newer key set than ``seen`` (which lacked a token's ``kid``), or None when the
        cooldown forbids fetching again and no other caller has fetched since."""
        fresh = self._fly(seen=seen)
        return None if fresh is seen else fresh

    async def keys_async(self) -> KeySet:
        """``keys()`` for a coroutine: a fetch, if one is needed, runs in a worker thread."""
        current = self._keys
        if current is not None and not self._wants_refresh():
            return current
        if current is None and not self._may_fetch() and not self._flight.locked():
            raise KeySetUnavailableError("the identity provider's keys cannot be fetched")
        return await asyncio.to_thread(self.keys)

    async def after_unknown_kid_async(self, seen: KeySet) -> KeySet | None:
        """``after_unknown_kid()`` for a coroutine, fetching in a worker thread."""
        if self._keys is seen and not self._may_fetch():
            return None  # the common answer under a storm of kids: no thread, no fetch
        return await asyncio.to_thread(self.after_unknown_kid, seen)

    def _fly(self, seen: KeySet | None) -> KeySet:
        """The single flight: fetch unless another caller did since ``seen`` was read."""
        with self._flight:
            current = self._keys
            if current is not None and current is not seen:
                return current  # a fetch landed while this caller waited
            if self._may_fetch():
                self._fetch_now()
            if self._keys is None:
                raise KeySetUnavailableError("the identity provider's keys cannot be fetched")
            return self._keys

    def _refresh_in_passing(self) -> None:
        # One caller refreshes a stale set; the others do not wait, they use the current one.
        if not self._flight.acquire(blocking=False):
            return
        try:
            if self._wants_refresh():
                self._fetch_now()
        finally:
            self._flight.release()

    def _wants_refresh(self) -> bool:
        # While the provider is down, a stale set is used as it is until the cooldown ends.
        return self._stale() and self._may_fetch()

    def _stale(self) -> bool:
        return (
            self.provider.jwks_url is not None
            and self._clock() - self._fetched_at >= self._max_age_s
        )

    def _may_fetch(self) -> bool:
        if self.provider.jwks_url is None:
            return False
        attempted = self._attempted_at
        return attempted is None or self._clock() - attempted >= self.provider.cooldown_s

    def _fetch_now(self) -> None:
        """One fetch; on success the keys are replaced, on failure the last good ones stay."""
        url = self.provider.jwks_url
        if url is None:
            return
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            keys = parse_jwks(self._fetch(url, self.provider.timeout_s), self.provider.algorithms)
        except (JWKSFetchError, OSError, ValueError) as exc:
            _LOGGER.warning("keys of identity provider %s not fetched: %s", url, exc)
            return
        if not keys.keys:
            _LOGGER.warning("keys of identity provider %s: no usable key, kept the last", url)
            return
        self._keys, self._fetched_at = keys, self._clock()
