"""How long a token-bearing request waits while a burst of password grants runs (behaviour §6.2).

Starts a real uvicorn server on a free loopback port, serving a plain ASGI app behind
``baas_auth.asgi.AuthMiddleware`` over a SQLite realm (the embedded default) with the default
scrypt cost,
then measures the latency of ``GET /acme/shop/books`` with a bearer token: alone, and while
``--burst`` password grants are in flight at once. Prints the medians and the ratio.

    python benchmarks/password_burst.py [--burst 20] [--rounds 5]

Run it with ``PYTHONPATH`` pointing at another checkout to compare two versions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

SERVER = textwrap.dedent(
    """
    import os, sys
    from baas_auth import Realm
    from baas_auth.asgi import AuthMiddleware

    realm = Realm.open(os.environ["BURST_REALM"])

    async def books(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"books"})

    app = AuthMiddleware(books, realm)
    """
)
PASSWORD = "burst-password"
BURST_USERS = 64


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(url: str) -> str:
    """Create acme/shop, its users and rules; return a client token for the timed GETs."""
    from baas_auth import Realm

    realm = Realm.open(url)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    for index in range(BURST_USERS):  # one account each: more than 5 grants at once for one
        realm.create_user("acme", "shop", f"user{index}", password=PASSWORD)  # account are 429
    creds = realm.create_credentials("acme", "shop")
    token = realm.client_token(creds.client_id, creds.client_secret).access_token
    realm.close()
    return token


async def _timed_get(client: httpx.AsyncClient, token: str) -> float:
    started = time.perf_counter()
    answer = await client.get("/acme/shop/books", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def _grant(client: httpx.AsyncClient, index: int) -> int:
    form = {"grant_type": "password", "username": f"user{index}", "password": PASSWORD}
    return (await client.post("/acme/shop/token", data=form)).status_code


async def _measure(
    base: str, token: str, burst: int, rounds: int
) -> tuple[list[float], list[float]]:
    """GET latencies alone, and GETs sent one after another while each burst of grants runs."""
    limits = httpx.Limits(max_connections=burst + 4)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await asyncio.gather(*(_grant(client, i) for i in range(burst)))  # open connections
        alone = [await _timed_get(client, token) for _ in range(rounds * 10)]
        during: list[float] = []
        for _ in range(rounds):
            grants = asyncio.gather(*(_grant(client, i) for i in range(burst)))
            while not grants.done():
                during.append(await _timed_get(client, token))
            assert set(await grants) == {200}
    return alone, during


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=20, choices=range(1, BURST_USERS + 1))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/burst.db"
        token = _seed(url)
        Path(folder, "burst_app.py").write_text(SERVER)
        port = _free_port()
        env = {**os.environ, "BURST_REALM": url, "PYTHONPATH": os.pathsep.join(
            [folder, os.environ.get("PYTHONPATH", "")])}
        command = [sys.executable, "-m", "uvicorn", "burst_app:app", "--port", str(port),
                   "--log-level", "warning", "--no-access-log"]
        server = subprocess.Popen(command, env=env, cwd=folder)  # noqa: S603 - our own argv
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            alone, during = asyncio.run(_measure(base, token, args.burst, args.rounds))
        finally:
            server.terminate()
            server.wait(timeout=10)
    _report("token-bearing GET alone", alone)
    _report(f"the same while bursts of {args.burst} password grants run", during)
    ratio = statistics.median(during) / statistics.median(alone)
    print(f"median during / median alone: {ratio:.1f}x")


def _report(what: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p90 = ordered[int(len(ordered) * 0.9) - 1] if len(ordered) >= 10 else ordered[-1]
    print(f"{what}: median {statistics.median(ordered):.1f} ms, p90 {p90:.1f} ms, "
          f"max {ordered[-1]:.1f} ms ({len(ordered)} requests)")


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()
