"""How long ``baas-auth copy``, ``backup`` and ``restore`` take for a realm of ``--users`` app
users, each with one live token (default 10,000 and 10,000), SQLite to Redis.

The realm is made in a SQLite file (users created by the realm with a cheap password hasher,
tokens issued by password grants, as in production); Redis is a ``redis-server`` this module
starts on loopback. Each command runs as ``baas-auth`` would run it (its entry function, in
this process), timed from the call to its return; the copy is then run a second time (nothing
to write), and a backup of the SQLite realm is restored into a second Redis prefix.

    PYTHONPATH=. python benchmarks/copy_figures.py [--users 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from _timing import Report
from bench_stores import start_redis

from baas_auth import PasswordHasher, Realm, SQLiteStore
from baas_auth.cli import main

PASSWORD = "correct horse battery"


def _make_realm(path: Path, users: int) -> None:
    realm = Realm(SQLiteStore(path), password_hasher=PasswordHasher(n=16, r=1, p=1))
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    for index in range(users):
        realm.create_user("acme", "shop", f"user{index}", password=PASSWORD)
        realm.password_token("acme", "shop", f"user{index}", PASSWORD)
    realm.close()


def _timed(*argv: str) -> tuple[float, dict[str, object]]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        status = main(["--json", *argv])
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"baas-auth {' '.join(argv)} failed with status {status}")
    answer: dict[str, object] = json.loads(out.getvalue())
    return elapsed, answer


def main_figures() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    users = parser.parse_args().users
    report = Report()
    server = start_redis(report)
    if server is None:
        raise SystemExit("; ".join(report.notes))
    try:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "auth.db"
            made = time.perf_counter()
            _make_realm(source, users)
            print(f"realm of {users} users and tokens made in {time.perf_counter() - made:.1f} s")
            sqlite_url = f"sqlite:///{source}"
            redis_url = server.url() + "?prefix=shop:"
            rows = [
                ("copy SQLite -> Redis", ("copy", sqlite_url, redis_url)),
                ("copy again (nothing to write)", ("copy", sqlite_url, redis_url)),
                ("backup SQLite -> file", ("--realm", sqlite_url, "backup", f"{folder}/r.bak")),
                ("restore file -> Redis", ("--realm", server.url() + "?prefix=back:",
                                           "restore", f"{folder}/r.bak")),
                ("backup Redis -> file", ("--realm", redis_url, "backup", f"{folder}/r2.bak")),
            ]
            for name, argv in rows:
                seconds, answer = _timed(*argv)
                print(f"{name:32} {seconds:7.2f} s  records={answer['records']}"
                      f" tokens={answer['tokens']}")
    finally:
        server.stop()
    for note in report.notes:
        print(note, file=sys.stderr)


if __name__ == "__main__":
    main_figures()
