"""Profile one request path of the middleware with cProfile; print where its time goes.

Shares are of the profiled total (cProfile inflates call-heavy code, so read them as a ranking,
and the per-request µs of ``bench_middleware.py`` as the cost).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats

from _apps import bare_asgi, bare_wsgi
from _realms import Seeded, seeded, tampered
from _timing import RunBatch
from bench_middleware import asgi_batch, asgi_scope, wsgi_batch, wsgi_environ

from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.wsgi import AuthMiddleware as WsgiAuth


def authorization(case: str, seed: Seeded) -> str | None:
    """The Authorization value of a case: valid, tampered, revoked, basic or guest (none)."""
    values = {
        "valid": f"Bearer {seed.token}",
        "tampered": f"Bearer {tampered(seed.token)}",
        "revoked": f"Bearer {seed.revoked_token}",
        "basic": seed.basic_header,
    }
    return values.get(case)


def run_batch(adapter: str, seed: Seeded, header: str | None) -> RunBatch:
    if adapter == "asgi":
        loop = asyncio.new_event_loop()
        asgi_app = AsgiAuth(bare_asgi, seed.realm, application="acme/shop")
        return asgi_batch(loop, asgi_app, [asgi_scope(header)])
    wsgi_app = WsgiAuth(bare_wsgi, seed.realm, application="acme/shop")
    return wsgi_batch(wsgi_app, [wsgi_environ(header)])


def print_shares(stats: pstats.Stats, calls: int, top: int, by_cumulative: bool) -> None:
    """The ``top`` functions by own (or cumulative) time: shares of the total, calls/request."""
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())
    column = 3 if by_cumulative else 2
    ranked = sorted(entries.items(), key=lambda item: item[1][column], reverse=True)[:top]
    print(f"{'own %':>6} {'cum %':>6} {'calls/req':>9}  function")
    for (path, line, name), (_, ncalls, own, cum, _) in ranked:
        where = f"{path.rsplit('/', 2)[-2:][-1]}:{line}({name})" if line else name
        print(f"{100 * own / total:6.1f} {100 * cum / total:6.1f} {ncalls / calls:9.1f}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--adapter", choices=("asgi", "wsgi"), default="asgi")
    parser.add_argument(
        "--case", choices=("valid", "guest", "tampered", "revoked", "basic"), default="valid"
    )
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cumulative", action="store_true", help="rank by cumulative time")
    args = parser.parse_args()
    seed = seeded(args.store)
    batch = run_batch(args.adapter, seed, authorization(args.case, seed))
    batch(200)  # warm the realm's caches before profiling
    profiler = cProfile.Profile()
    profiler.runcall(batch, args.calls)
    print_shares(pstats.Stats(profiler), args.calls, args.top, args.cumulative)


if __name__ == "__main__":
    main()
