"""What counting decisions adds to a request, in instructions: the same requests with and
without a metrics hook, counted by valgrind's callgrind, so that the figure does not move with
whatever else the machine is doing (timings on a shared machine move by more than the few
per cent sought).

Two settings, each run for every variant:

- ``server``: uvicorn (one process, asyncio, h11) serving ``_served.py``'s single-app ASGI
  app, and gunicorn (one gthread worker) its WSGI app, on a free loopback port under
  callgrind, a keep-alive client outside it sending the requests: what a steady-state request
  costs the server process, its HTTP parsing and I/O included;
- ``process``: the WSGI and ASGI middleware called in a loop in one process (no server), the
  setting of ``bench_middleware.py``.

Each figure is the difference between two runs, ``--few`` and ``--many`` requests, divided by
the difference in requests: start-up, imports and shutdown cancel out. The variants are
``memory`` (a valid token, its admission remembered: the steady state), ``memory-metrics``
(the same with ``PrometheusMetrics``) and ``memory-otel`` (with ``OpenTelemetryMetrics`` on
the SDK with an in-memory reader); and, with ``--variant memory-jwt`` (server setting only),
the steady state of an identity provider's token instead of baas_auth's own (its keys inline,
the token signed here with joserfc): what a federated token adds behind a real server; with
``--variant bare``, the bare app, for the ratio of a request with baas_auth to one without;
``sqlite`` and ``sqlite-jwt``, the same on a SQLite file seeded here.

Run: ``PYTHONPATH=. python benchmarks/metrics_overhead.py [--setting server|process]``
(needs valgrind; a few minutes: Python under callgrind runs ~50 times slower).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from _realms import FAST_HASHER
from _served import PATH, provider_keys, provider_token, seed, trust_provider

from baas_auth import Realm, SQLiteStore

HERE = Path(__file__).resolve().parent
VARIANTS = ("memory", "memory-metrics", "memory-otel")
SERVER_ONLY = ("memory-jwt", "bare", "sqlite", "sqlite-jwt")
READY_DEADLINE_S = 300.0
"""Python imports uvicorn, baas_auth and the metrics packages slowly under callgrind."""
_COLLECTED = re.compile(rb"Collected : (\d+)")

_SERVE = """
import uvicorn
uvicorn.run("_served:asgi_app", factory=True, host="127.0.0.1", port={port}, http="h11",
            loop="asyncio", lifespan="off", access_log=False, log_level="warning")
"""

_LOOP = """
import asyncio, os, pathlib, _served
from bench_middleware import asgi_answer, asgi_batch, asgi_scope, wsgi_answer, wsgi_batch
from bench_middleware import wsgi_environ
n, adapter = int(os.environ["BENCH_REQUESTS"]), os.environ["BENCH_ADAPTER"]
app = _served.asgi_app() if adapter == "asgi" else _served.wsgi_app()
bearer = "Bearer " + pathlib.Path(os.environ["BENCH_TOKEN_FILE"]).read_text()
if adapter == "asgi":
    loop = asyncio.new_event_loop()
    scope = asgi_scope(bearer, {path!r})
    assert asgi_answer(loop, app, scope)[0] == 200
    asgi_batch(loop, app, [scope])(n)
else:
    environ = wsgi_environ(bearer, {path!r})
    assert wsgi_answer(app, environ)[0] == 200
    wsgi_batch(app, [environ])(n)
"""


def _callgrind(code: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return _under_callgrind([sys.executable, "-c", code], env)


def _under_callgrind(program: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    return subprocess.Popen(  # noqa: S603 - fixed arguments
        [*command, *program],
        cwd=HERE,
        env={**os.environ, **env, "PYTHONHASHSEED": "0", "PYTHONPATH": _pythonpath()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _pythonpath() -> str:
    return os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])


def _instructions(process: subprocess.Popen[bytes]) -> int:
    _, errors = process.communicate(timeout=READY_DEADLINE_S)
    found = [int(count) for count in _COLLECTED.findall(errors)]
    if process.returncode not in (0, -15) or not found:
        raise RuntimeError(errors.decode(errors="replace")[-2000:])
    # gunicorn's arbiter and its worker each report; the worker, which answers, counts most.
    return max(found)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + READY_DEADLINE_S
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        try:
            process.wait(timeout=0.2)  # the pause between looks, and a liveness check
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"the server exited: {process.stderr and process.stderr.read()!r}")
    raise RuntimeError("the server wrote no token")


def _send(port: int, token: str, requests: int) -> None:
    deadline = time.monotonic() + READY_DEADLINE_S
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.connect()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # a benchmark's wait for a server starting under valgrind
    headers = {"Authorization": f"Bearer {token}", "Accept": "*/*"}
    for _ in range(requests):
        connection.request("GET", PATH, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"answered {answer.status}")
    connection.close()


def _server_env(variant: str, token_file: Path) -> tuple[dict[str, str], str | None]:
    """The server's environment, and the token to send (None: the one the server writes to
    ``token_file``); a ``-jwt`` variant's realm trusts a provider whose keys are inline."""
    env = {"BENCH_VARIANT": variant, "BENCH_TOKEN_FILE": str(token_file)}
    if variant == "bare":
        return env, "ignored"  # the bare app reads no header; _send waits for the port
    key, jwks = provider_keys()
    if variant.startswith("sqlite"):
        env["BENCH_SQLITE"] = str(token_file.with_suffix(".db"))
        realm = Realm(SQLiteStore(env["BENCH_SQLITE"]), password_hasher=FAST_HASHER)
        try:
            own = seed(realm)
            trust_provider(realm, jwks)
        finally:
            realm.close()
        return env, provider_token(key) if variant.endswith("-jwt") else own
    if not variant.endswith("-jwt"):
        return env, None
    env["BENCH_JWKS"] = jwks
    return env, provider_token(key)


def server_run(variant: str, requests: int, folder: Path) -> int:
    """The server's instructions for ``requests`` requests, start and stop included."""
    port, token_file = _free_port(), folder / f"{variant}-{requests}.token"
    env, token = _server_env(variant, token_file)
    process = _callgrind(_SERVE.format(port=port), env)
    try:
        own = _wait_for(token_file, process) if variant.startswith("memory") else ""
        _send(port, token or own, requests)
    finally:
        process.terminate()
    return _instructions(process)


def gunicorn_run(variant: str, requests: int, folder: Path) -> int:
    """gunicorn's worker (gthread, 4 threads) for ``requests`` requests, start and stop
    included: the process that runs the WSGI app (callgrind follows the fork)."""
    port, token_file = _free_port(), folder / f"gunicorn-{variant}-{requests}.token"
    env, token = _server_env(variant, token_file)
    options = ["--worker-class", "gthread", "--workers", "1", "--threads", "4"]
    options += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "600"]
    if int(version("gunicorn").split(".")[0]) >= 27:
        options.append("--no-control-socket")
    program = [sys.executable, "-m", "gunicorn", *options, "_served:wsgi_app()"]
    process = _under_callgrind(program, env)
    try:
        own = _wait_for(token_file, process) if variant.startswith("memory") else ""
        _send(port, token or own, requests)
    finally:
        process.terminate()
    return _instructions(process)


def process_run(variant: str, adapter: str, requests: int, folder: Path) -> int:
    """The instructions of one process calling the middleware ``requests`` times."""
    token_file = folder / f"{variant}-{adapter}-{requests}.token"
    env = {"BENCH_VARIANT": variant, "BENCH_TOKEN_FILE": str(token_file)}
    env.update(BENCH_REQUESTS=str(requests), BENCH_ADAPTER=adapter)
    return _instructions(_callgrind(_LOOP.format(path=PATH), env))


def per_request(run: object, few: int, many: int) -> float:
    assert callable(run)
    return (run(many) - run(few)) / (many - few)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", choices=("server", "process", "both"), default="both")
    parser.add_argument("--few", type=int, default=200)
    parser.add_argument("--many", type=int, default=1200)
    parser.add_argument(
        "--variant", action="append", choices=(*VARIANTS, *SERVER_ONLY), help="(default: all)"
    )
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for variant in args.variant or VARIANTS:
            if args.setting in ("server", "both"):
                cost = per_request(
                    lambda n, v=variant: server_run(v, n, folder), args.few, args.many
                )
                rows.append(("uvicorn, ASGI", variant, cost))
                print(f"  uvicorn, ASGI  {variant:15} {cost:10,.0f} instructions", flush=True)
                cost = per_request(
                    lambda n, v=variant: gunicorn_run(v, n, folder), args.few, args.many
                )
                rows.append(("gunicorn gthread, WSGI", variant, cost))
                print(f"  gunicorn, WSGI {variant:15} {cost:10,.0f} instructions", flush=True)
            if args.setting in ("process", "both") and variant not in SERVER_ONLY:
                for adapter in ("asgi", "wsgi"):
                    cost = per_request(
                        lambda n, v=variant, a=adapter: process_run(v, a, n, folder),
                        args.few,
                        args.many,
                    )
                    rows.append((f"in process, {adapter.upper()}", variant, cost))
                    print(f"  in process {adapter}  {variant:15} {cost:10,.0f}", flush=True)
    _report(rows)
    return 0


def _report(rows: list[tuple[str, str, float]]) -> None:
    base = {setting: cost for setting, variant, cost in rows if variant == "memory"}
    print("\n| setting | variant | instructions per request | added beside `memory` |")
    print("|---|---|---|---|")
    for setting, variant, cost in rows:
        if setting not in base:
            print(f"| {setting} | {variant} | {cost:,.0f} | |")
            continue
        added = cost - base[setting]
        share = "" if variant == "memory" else f"+{added:,.0f} ({added / base[setting]:.1%})"
        print(f"| {setting} | {variant} | {cost:,.0f} | {share} |")


if __name__ == "__main__":
    raise SystemExit(main())
