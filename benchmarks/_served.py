"""The apps ``bench_servers.py`` serves with uvicorn and gunicorn: app factories chosen by
environment variables, so that every server runs the same module.

``BENCH_VARIANT`` picks what wraps the trivial inner app:

- ``bare``: nothing; the baseline of the server's ratios;
- ``memory``: baas_auth on a ``MemoryStore``, seeded here, in the server process (a memory
  store cannot be filled from outside); alice's token is written to ``BENCH_TOKEN_FILE``;
- ``memory-metrics``: the same, counting every decision with ``PrometheusMetrics`` (on a
  registry of its own): what the metrics add to a request a real server answers;
  ``memory-otel``: with ``OpenTelemetryMetrics`` (the SDK, an in-memory reader);
- ``sqlite``: baas_auth on the SQLite file ``BENCH_SQLITE``, seeded by the harness;
- ``sqlite-mixed``: the same, with the lowered password hasher of the seeding, for the mixed
  load (a password grant in every 100 requests): what is measured is the grant's store work and
  the full decisions after it (each grant moves the change stamp), not the KDF;
- ``redis``: baas_auth on ``BENCH_REDIS_URL`` under the key prefix ``BENCH_REDIS_PREFIX``,
  seeded by the harness (ASGI: ``AsyncRealm`` on ``AsyncRedisStore``; WSGI: ``Realm`` on
  ``RedisStore``), revocation immediate (the default);
- ``redis-window``: the same with ``max_staleness_ms=1000`` (``REDIS_WINDOW_MS``): a change
  made elsewhere is seen within a second, and the steady state makes no round trip;
- ``redis-full``: the same stores with their change stamp hidden, so every request is decided
  in full (the token and the generation read from Redis): how the default worked before the
  stamp was read for every request, measured side by side with it;
- ``redis-mixed``: ``redis`` with the lowered password hasher, for the mixed load: each grant
  issues a token, which moves the Redis change stamp (so that a restore losing the token cannot
  bring back a stamp its admissions were remembered under);
- ``memory-jwt``, ``sqlite-jwt``: ``memory`` and ``sqlite`` where acme/shop also trusts an
  identity provider whose public keys are given inline (``BENCH_JWKS``: nothing is fetched),
  and the request's bearer is that provider's RS256 JWT for alice, signed by the harness with
  joserfc (``provider_token``): the steady state of a federated token on a real server;
- ``peer`` (Starlette only): Starlette's ``AuthenticationMiddleware`` with a dict-lookup
  backend, the route requiring ``authenticated``.

Every realm is the one ``seed`` makes: the request ``GET /books/1`` is allowed by a rule of
alice's ``default`` role, so each admitted request goes through the permission check, and the
guest (no rules) is refused with 401.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _apps import bare_asgi, bare_wsgi, starlette_dict_backend
from _realms import FAST_HASHER, PASSWORD

from baas_auth import AsyncRealm, MemoryStore, Realm, SQLiteStore

__all__ = [
    "PATH",
    "PLAIN_VARIANTS",
    "PROVIDER_ISSUER",
    "STARLETTE_VARIANTS",
    "USER",
    "asgi_app",
    "provider_keys",
    "provider_token",
    "seed",
    "starlette_app",
    "trust_provider",
    "wsgi_app",
]

ORG, APP, USER = "acme", "shop", "alice"
PATH = "/books/1"
RULE = "get:/books/**"
STARLETTE_VARIANTS = ("bare", "memory", "sqlite", "redis", "peer")
PLAIN_VARIANTS = (
    "bare",
    "memory",
    "memory-metrics",
    "memory-otel",
    "memory-jwt",
    "sqlite",
    "sqlite-mixed",
    "sqlite-jwt",
    "redis",
    "redis-window",
    "redis-full",
    "redis-mixed",
)
REDIS_WINDOW_MS = 1000
PROVIDER_ISSUER = "https://idp.example.com/realms/acme"
PROVIDER_AUDIENCE = "shop-api"
PROVIDER_TOKEN_LIFETIME_S = 3600
"""Longer than any run: the token is remembered until its ``exp``, as in production."""


def seed(realm: Realm) -> str:
    """Org acme, app shop whose ``default`` role may read ``/books/**`` (its guest may do
    nothing), user alice; returns a bearer token of alice."""
    realm.create_org(ORG)
    realm.create_app(ORG, APP)  # a new app's roles hold no rules
    realm.grant(ORG, APP, RULE, role="default")
    realm.create_user(ORG, APP, USER, password=PASSWORD)
    return realm.password_token(ORG, APP, USER, PASSWORD).access_token


def provider_keys() -> tuple[Any, str]:
    """A new RS256 key pair of the provider: the private key (joserfc's) for signing, and the
    public key set as JSON, for the server's environment (``BENCH_JWKS``)."""
    import json

    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048)
    public = {"keys": [dict(key.as_dict(private=False), kid="bench-1")]}
    return key, json.dumps(public)


def provider_token(key: Any) -> str:
    """An access token of the provider for alice (``sub``), as an OIDC provider issues it."""
    import time

    from joserfc import jwt

    now = int(time.time())
    claims = {"iss": PROVIDER_ISSUER, "aud": PROVIDER_AUDIENCE, "sub": USER, "iat": now,
              "nbf": now, "exp": now + PROVIDER_TOKEN_LIFETIME_S, "jti": "bench",
              "scope": "read"}
    header = {"alg": "RS256", "kid": "bench-1", "typ": "at+jwt"}
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def trust_provider(realm: Realm, jwks: str) -> None:
    """acme/shop trusts the provider, its keys inline; its ``sub`` is the local username."""
    import json

    realm.add_identity_provider(ORG, APP, issuer=PROVIDER_ISSUER, audience=PROVIDER_AUDIENCE,
                                jwks=json.loads(jwks), algorithms=("RS256",))


def _variant(allowed: tuple[str, ...]) -> str:
    variant = os.environ.get("BENCH_VARIANT", "")
    if variant not in allowed:
        raise SystemExit(f"BENCH_VARIANT must be one of {', '.join(allowed)}, not {variant!r}")
    return variant


def _memory_realm() -> Realm:
    """A memory realm seeded here; the token goes to the harness through a file, written whole
    (a rename) so that it is never read half-written."""
    realm = Realm(MemoryStore(), password_hasher=FAST_HASHER)
    token = seed(realm)
    if "BENCH_JWKS" in os.environ:
        trust_provider(realm, os.environ["BENCH_JWKS"])
    target = Path(os.environ["BENCH_TOKEN_FILE"])
    partial = target.with_suffix(".partial")
    partial.write_text(token)
    partial.replace(target)
    return realm


def _sync_realm(variant: str) -> Realm:
    if variant.startswith("memory"):
        return _memory_realm()
    if variant in ("sqlite", "sqlite-jwt"):
        return Realm(SQLiteStore(os.environ["BENCH_SQLITE"]))
    if variant == "sqlite-mixed":
        return Realm(SQLiteStore(os.environ["BENCH_SQLITE"]), password_hasher=FAST_HASHER)
    from baas_auth.stores.redis import RedisStore

    if variant == "redis-full":
        return Realm(_full_decisions(RedisStore)(**_redis_options(variant)))
    if variant == "redis-mixed":
        return Realm(RedisStore(**_redis_options(variant)), password_hasher=FAST_HASHER)
    return Realm(RedisStore(**_redis_options(variant)))


def _full_decisions(store_class: type[Any]) -> type[Any]:
    """The store with its change stamp hidden: the adapters then decide every request in
    full, as they did before the stamp was read for every request."""

    class FullDecisions(store_class):  # type: ignore[misc,valid-type]
        read_change_stamp = None  # the ASGI adapter finds no awaitable check
        change_stamp_waits = False

        def change_stamp(self) -> int | None:
            return None

    return FullDecisions


def _redis_options(variant: str) -> dict[str, Any]:
    """Where the harness seeded the realm, and the change stamp's window of the variant."""
    return {
        "url_or_client": os.environ["BENCH_REDIS_URL"],
        "prefix": os.environ["BENCH_REDIS_PREFIX"],
        "max_staleness_ms": REDIS_WINDOW_MS if variant == "redis-window" else 0,
    }


def _asgi_realm(variant: str) -> Realm | AsyncRealm:
    """On an event loop, Redis is reached without blocking it: the async store."""
    if not variant.startswith("redis"):
        return _sync_realm(variant)
    from baas_auth.stores.redis import AsyncRedisStore

    if variant == "redis-full":
        return AsyncRealm(_full_decisions(AsyncRedisStore)(**_redis_options(variant)))
    if variant == "redis-mixed":
        store = AsyncRedisStore(**_redis_options(variant))
        return AsyncRealm(store, password_hasher=FAST_HASHER)
    return AsyncRealm(AsyncRedisStore(**_redis_options(variant)))


def asgi_app() -> Any:
    """uvicorn's ``--factory``: the bare ASGI app, or it behind baas_auth's middleware."""
    from baas_auth.asgi import AuthMiddleware

    variant = _variant(PLAIN_VARIANTS)
    if variant == "bare":
        return bare_asgi
    realm = _asgi_realm(variant)
    return AuthMiddleware(bare_asgi, realm, application=f"{ORG}/{APP}", **_hooks(variant))


def starlette_app() -> Any:
    """uvicorn's ``--factory``: a one-route Starlette app, bare, behind baas_auth (``protect``),
    or behind Starlette's ``AuthenticationMiddleware`` (the peer)."""
    from starlette.applications import Starlette
    from starlette.authentication import requires
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from baas_auth.integrations.starlette import protect

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    variant = _variant(STARLETTE_VARIANTS)
    if variant == "peer":
        # Starlette's middleware only says who the caller is; requiring "authenticated" on the
        # route is how a Starlette app refuses the others (403), the peer of baas_auth's 401.
        peer = Middleware(AuthenticationMiddleware, backend=starlette_dict_backend())
        guarded: Callable[[Request], Any] = requires("authenticated")(ok)
        return Starlette(routes=[Route(PATH, guarded)], middleware=[peer])
    app = Starlette(routes=[Route(PATH, ok)])
    if variant != "bare":
        protect(app, _asgi_realm(variant), application=f"{ORG}/{APP}")
    return app


def wsgi_app() -> Any:
    """gunicorn's ``_served:wsgi_app()``: the bare WSGI app, or it behind baas_auth's
    middleware (memory, SQLite, or Redis through ``RedisStore``)."""
    from baas_auth.wsgi import AuthMiddleware

    variant = _variant(PLAIN_VARIANTS)
    if variant == "bare":
        return bare_wsgi
    realm = _sync_realm(variant)
    return AuthMiddleware(bare_wsgi, realm, application=f"{ORG}/{APP}", **_hooks(variant))


def _hooks(variant: str) -> dict[str, Any]:
    """``on_decision`` of the ``-metrics`` and ``-otel`` variants, counting every decision."""
    if variant.endswith("-metrics"):
        from prometheus_client import CollectorRegistry

        from baas_auth.integrations.metrics import PrometheusMetrics

        return {"on_decision": PrometheusMetrics(CollectorRegistry())}
    if variant.endswith("-otel"):
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from baas_auth.integrations.metrics import OpenTelemetryMetrics

        provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        return {"on_decision": OpenTelemetryMetrics(provider)}
    return {}
