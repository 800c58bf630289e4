"""Verifying a token from any configured identity provider: choose the provider by the token's
(unverified) ``iss``, verify with its cached keys, and on an unknown ``kid`` fetch the keys again
(within the cooldown) and verify once more (behaviour §8). The decisions are the core's
(``verify_provider_token``); this only sequences them with the key sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from baas_auth.core.identity_providers import IdentityProvider
from baas_auth.core.jwk import KeySet
from baas_auth.core.jwt_parts import CompactJWT, parse_compact, peek_issuer
from baas_auth.core.jwt_tokens import UnknownKeyIdError, VerifiedClaims, verify_provider_token
from baas_auth.errors import ConfigError, MalformedTokenError
from baas_auth.federation.jwks_fetch import fetch_jwks
from baas_auth.federation.key_sets import DEFAULT_MAX_AGE_S, Fetch, ProviderKeys

__all__ = ["ProviderTokens"]


class ProviderTokens:
    """The identity providers one app (or org) trusts, each with its key set."""

    def __init__(
        self,
        providers: Iterable[IdentityProvider],
        *,
        fetch: Fetch = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        previous: ProviderTokens | None = None,
    ) -> None:
        """``previous``: the set these providers replace; a provider whose settings did not
        change keeps its key set (fetched keys, cooldown), so a change elsewhere in the
        directory never makes a provider's keys be fetched again."""
        self._keys: dict[str, ProviderKeys] = {}
        for provider in providers:
            if provider.issuer in self._keys:
                raise ConfigError(f"two identity providers have the issuer {provider.issuer!r}")
            kept = None if previous is None else previous.key_set(provider.issuer)
            if kept is None or kept.provider != provider:
                kept = ProviderKeys(provider, fetch=fetch, clock=clock, max_age_s=max_age_s)
            self._keys[provider.issuer] = kept
        self._wall_clock = wall_clock

    def key_set(self, issuer: str) -> ProviderKeys | None:
        """The key set of the provider with this exact issuer, if one is configured."""
        return self._keys.get(issuer)

    def provider_for(self, token: str) -> ProviderKeys | None:
        """The provider ``token`` claims to come from (unverified), or None: not ours."""
        issuer = peek_issuer(token)
        return None if issuer is None else self._keys.get(issuer)

    def verify(self, token: str) -> VerifiedClaims:
        """The verified claims of ``token``, or the 401/503 error that refuses it."""
        jwt, provider_keys = self._provider(token)
        keys = provider_keys.keys()
        try:
            return self._verify_with(jwt, provider_keys, keys)
        except UnknownKeyIdError:
            fresh = provider_keys.after_unknown_kid(keys)
            if fresh is None:
                raise
            return self._verify_with(jwt, provider_keys, fresh)

    async def verify_async(self, token: str) -> VerifiedClaims:
        """``verify()`` for a coroutine: key fetches run in a worker thread, never on the loop."""
        jwt, provider_keys = self._provider(token)
        keys = await provider_keys.keys_async()
        try:
            return self._verify_with(jwt, provider_keys, keys)
        except UnknownKeyIdError:
            fresh = await provider_keys.after_unknown_kid_async(keys)
            if fresh is None:
                raise
            return self._verify_with(jwt, provider_keys, fresh)

    def _provider(self, token: str) -> tuple[CompactJWT, ProviderKeys]:
        """The token taken apart (once: the checks read the same parse) and the provider its
        unverified ``iss`` names; an unknown issuer is 401 like any unverifiable token."""
        jwt = parse_compact(token)
        issuer = jwt.claims.get("iss")
        provider_keys = self._keys.get(issuer) if isinstance(issuer, str) else None
        if provider_keys is None:
            raise MalformedTokenError()
        return jwt, provider_keys

    def _verify_with(
        self, token: CompactJWT, provider_keys: ProviderKeys, keys: KeySet
    ) -> VerifiedClaims:
        return verify_provider_token(token, provider_keys.provider, keys, now=self._wall_clock())
