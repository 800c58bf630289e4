"""A refresh beside a password grant, interleaved: each round times a batch of each, so that a
shared machine's load falls on all of them alike; the minimum and the median per call over the
rounds. The refresh row refreshes one family again and again (each refresh spends the token the
one before answered), so a family that grows with its refreshes shows here.

    PYTHONPATH=. python benchmarks/refresh_vs_grant.py [--store sqlite] [--calls 200] [--rounds 7]

The grants use the lowered scrypt cost of the test suites (its KDF costs a few µs: see
``bench_lifecycle.py``), so a grant's figure is what it costs without the KDF.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from baas_auth import MemoryStore, PasswordHasher, Realm, SQLiteStore

FAST_HASHER = PasswordHasher(n=16, r=1, p=1)
PASSWORD = "wonderland"


def _realm(store_kind: str, *, refresh: bool) -> Realm:
    folder = Path(tempfile.mkdtemp(prefix="baas-auth-bench-"))
    store = MemoryStore() if store_kind == "memory" else SQLiteStore(folder / "bench.db")
    realm = Realm(store, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    if refresh:
        realm.set_refresh_token_ttl("acme", "shop", 86_400_000)
    return realm


def rows(store_kind: str) -> dict[str, Callable[[], object]]:
    off, on = _realm(store_kind, refresh=False), _realm(store_kind, refresh=True)
    latest = [on.password_token("acme", "shop", "alice", PASSWORD).refresh_token]

    def refresh() -> None:
        token = latest[0]
        assert token is not None
        latest[0] = on.refresh_token("acme", "shop", token).refresh_token

    return {
        "password grant, refresh tokens off": lambda: off.password_token(
            "acme", "shop", "alice", PASSWORD
        ),
        "password grant, refresh tokens on": lambda: on.password_token(
            "acme", "shop", "alice", PASSWORD
        ),
        "refresh, one family again and again": refresh,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    calls = rows(args.store)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(args.calls):
                call()
            times[name].append((time.perf_counter() - started) / args.calls * 1e6)
    for name, found in times.items():
        median, least = statistics.median(found), min(found)
        print(f"{args.store:6} {name:40} median {median:7.0f} µs  min {least:7.0f} µs")


if __name__ == "__main__":
    main()
