"""The per-request goals, side by side in one process: ratios taken within each round.

In process, no sockets (as ``bench_middleware.py``). Every variant is measured once per round,
the variants of a round in a rotated order, and each round's ratio to the bare app (or to
Starlette's ``AuthenticationMiddleware``) is taken from that round's own figures, so that a
machine whose speed drifts moves both sides of a ratio alike. A figure is the median over the
rounds. Variants: the bare apps; Starlette's middleware with a dict lookup; baas_auth with a
valid bearer token (the steady state: the same request again) on the memory, SQLite and Redis
stores (Redis: ``RedisStore`` under ``Realm``, and ``AsyncRedisStore`` under ``AsyncRealm`` on
ASGI; a ``redis-server`` this module starts on loopback, skipped with a note when it is not on
PATH); a first sighting (a token the process has never seen, every request) and a path never
seen (every request) on the memory store; refusals (the same tampered or revoked token again,
and a new tampered token every request).

    PYTHONPATH=. python benchmarks/bench_steady.py [--rounds 7] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _apps import ReferenceBearerASGI, bare_asgi, bare_wsgi
from _realms import Seeded, more_tokens, seeded, tampered
from _timing import RunBatch, Settings, measure
from bench_middleware import asgi_batch, asgi_scope, wsgi_batch, wsgi_environ
from bench_stores import RedisServer, start_redis

from baas_auth import AsyncRealm
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.wsgi import AuthMiddleware as WsgiAuth

TIMES = "\N{MULTIPLICATION SIGN}"
_FIRST_SIGHTINGS = 60_000
_NEW_PATHS = 10_000


@dataclass
class Variant:
    adapter: str
    name: str
    run_batch: RunBatch
    samples: list[float]


class Report:
    """Stands in for ``_timing.Report`` where ``start_redis`` writes its notes."""

    def __init__(self) -> None:
        self.notes: list[str] = []


REDIS_WINDOW_MS = 1000
"""The change stamp's window of the Redis variants that take the option (docs/redis.md)."""


def _redis_seeded(server: RedisServer, db: int, **options: Any) -> Seeded:
    from baas_auth.stores.redis import RedisStore

    return seeded("redis", store=RedisStore(server.url(db), **options))


def asgi_variants(loop: asyncio.AbstractEventLoop, seeds: dict[str, Seeded]) -> list[Variant]:
    from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
    from starlette.middleware.authentication import AuthenticationMiddleware

    tokens = {seeds["memory"].token: "alice"}

    class DictBackend(AuthenticationBackend):
        async def authenticate(self, conn: Any) -> tuple[AuthCredentials, SimpleUser] | None:
            _, _, token = conn.headers.get("authorization", "").partition(" ")
            name = tokens.get(token)
            return None if name is None else (AuthCredentials(["authenticated"]), SimpleUser(name))

    memory = seeds["memory"]
    valid = f"Bearer {memory.token}"
    variants = [
        ("bare ASGI app", bare_asgi, [asgi_scope(valid)]),
        (
            "Starlette AuthenticationMiddleware, dict lookup",
            AuthenticationMiddleware(bare_asgi, backend=DictBackend()),
            [asgi_scope(valid)],
        ),
        (
            "reference minimal bearer middleware",
            ReferenceBearerASGI(bare_asgi, tokens),
            [asgi_scope(valid)],
        ),
    ]
    for kind, seed in seeds.items():
        app = AsgiAuth(bare_asgi, seed.realm, application="acme/shop")
        variants.append((f"baas_auth steady, {kind}", app, [asgi_scope(f"Bearer {seed.token}")]))
    return [
        Variant("asgi", name, asgi_batch(loop, app, bases), []) for name, app, bases in variants
    ]


def cold_variants(
    adapter: str, seed: Seeded, fresh: tuple[str, ...], loop: asyncio.AbstractEventLoop | None
) -> list[Variant]:
    """First sightings, new paths and refusals on the memory store."""
    scope_of: Callable[..., dict[str, Any]] = asgi_scope if adapter == "asgi" else wsgi_environ
    middleware = (AsgiAuth if adapter == "asgi" else WsgiAuth)(
        bare_asgi if adapter == "asgi" else bare_wsgi, seed.realm, application="acme/shop"
    )
    cases = {
        "baas_auth first sighting of a token, memory": [scope_of(f"Bearer {t}") for t in fresh],
        "baas_auth path never seen, memory": [
            scope_of(f"Bearer {seed.token}", path=f"/items/{i}") for i in range(_NEW_PATHS)
        ],
        "baas_auth tampered token (401), memory": [scope_of(f"Bearer {tampered(seed.token)}")],
        "baas_auth revoked token (401), memory": [scope_of(f"Bearer {seed.revoked_token}")],
        "baas_auth a new tampered token each request (401), memory": [
            scope_of(f"Bearer {tampered(t)}") for t in fresh[:_NEW_PATHS]
        ],
    }
    out = []
    for name, bases in cases.items():
        batch = (
            asgi_batch(loop, middleware, bases)
            if loop is not None
            else wsgi_batch(middleware, bases)
        )
        out.append(Variant(adapter, name, batch, []))
    return out


def wsgi_variants(seeds: dict[str, Seeded]) -> list[Variant]:
    valid = f"Bearer {seeds['memory'].token}"
    variants = [Variant("wsgi", "bare WSGI app", wsgi_batch(bare_wsgi, [wsgi_environ(valid)]), [])]
    for kind, seed in seeds.items():
        if kind == "redis-async":
            continue
        app = WsgiAuth(bare_wsgi, seed.realm, application="acme/shop")
        batch = wsgi_batch(app, [wsgi_environ(f"Bearer {seed.token}")])
        variants.append(Variant("wsgi", f"baas_auth steady, {kind}", batch, []))
    return variants


def run_rounds(variants: list[Variant], rounds: int, settings: Settings) -> None:
    for index in range(rounds):
        order = variants[index % len(variants) :] + variants[: index % len(variants)]
        for variant in order:
            variant.samples.append(measure(variant.run_batch, settings).per_call_ns / 1000)
        print(f"round {index + 1}/{rounds} done", file=sys.stderr)


def ratios(variants: list[Variant], baseline: str) -> dict[str, float]:
    base = next(v for v in variants if v.name == baseline)
    return {
        v.name: statistics.median(s / b for s, b in zip(v.samples, base.samples, strict=True))
        for v in variants
    }


def table(variants: list[Variant], baselines: list[str]) -> list[str]:
    by_base = {name: ratios(variants, name) for name in baselines}
    head = "| variant | µs/call (median) | " + " | ".join(f"{TIMES} {b}" for b in baselines) + " |"
    lines = [head, "|---|---|" + "---|" * len(baselines)]
    for v in variants:
        cells = " | ".join(f"{by_base[b][v.name]:.2f}{TIMES}" for b in baselines)
        lines.append(f"| {v.name} | {statistics.median(v.samples):.2f} | {cells} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args()
    settings = (
        Settings(batches=3, target_ns=10_000_000, warmup=200)
        if args.quick
        else Settings(batches=5, target_ns=20_000_000, warmup=500)
    )
    report = Report()
    server = start_redis(report)
    try:
        seeds = {"memory": seeded("memory"), "sqlite": seeded("sqlite")}
        if server is not None:
            seeds["redis"] = _redis_seeded(server, 0)
            window = {"max_staleness_ms": REDIS_WINDOW_MS}
            seeds[f"redis, max_staleness_ms={REDIS_WINDOW_MS}"] = _redis_seeded(server, 2, **window)
        loop = asyncio.new_event_loop()
        asgi = asgi_variants(loop, seeds)
        if server is not None:
            asgi.append(async_redis_variant(loop, server, 1))
            asgi.append(async_redis_variant(loop, server, 3, max_staleness_ms=REDIS_WINDOW_MS))
        cold = seeded("memory")
        fresh = more_tokens(cold, _FIRST_SIGHTINGS)
        asgi += cold_variants("asgi", cold, fresh, loop)
        wsgi = wsgi_variants(seeds) + cold_variants("wsgi", cold, fresh, None)
        run_rounds(asgi + wsgi, args.rounds, settings)
    finally:
        if server is not None:
            server.stop()
    for note in report.notes:
        print(f"Note: {note}")
    print("\n## ASGI, in process\n")
    print(
        "\n".join(table(asgi, ["bare ASGI app", "Starlette AuthenticationMiddleware, dict lookup"]))
    )
    print("\n## WSGI, in process\n")
    print("\n".join(table(wsgi, ["bare WSGI app", "baas_auth steady, memory"])))
    if args.json:
        samples = {f"{v.adapter}: {v.name}": v.samples for v in asgi + wsgi}
        with open(args.json, "w") as out:
            json.dump(samples, out, indent=1)


def async_redis_variant(
    loop: asyncio.AbstractEventLoop, server: RedisServer, db: int, **options: Any
) -> Variant:
    """``AsyncRealm`` over ``AsyncRedisStore`` with the store's ``options``, seeded through a
    sync realm on the same db."""
    from baas_auth.stores.redis import AsyncRedisStore

    seed = _redis_seeded(server, db)
    realm = AsyncRealm(AsyncRedisStore(server.url(db), **options))
    app = AsgiAuth(bare_asgi, realm, application="acme/shop")
    named = "".join(f", {key}={value}" for key, value in options.items())
    return Variant(
        "asgi",
        f"baas_auth steady, redis-async{named}",
        asgi_batch(loop, app, [asgi_scope(f"Bearer {seed.token}")]),
        [],
    )


if __name__ == "__main__":
    main()
