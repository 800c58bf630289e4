"""Real servers in subprocesses on a free loopback port, sharing a SQLite realm with the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from baas_auth import Realm, SQLiteStore
from tests.conftest import FAST_HASHER

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "wonderland"
READY_ATTEMPTS = 300  # x 50 ms: a server that has not opened its port in 15 s has failed
STOP_WAIT_S = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    """The test's environment, with the project importable from any working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Terminate, then kill after a bounded wait."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_WAIT_S)


def wait_for_port(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll the port a bounded number of times; fail at once if the server exits."""
    for _ in range(READY_ATTEMPTS):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        try:
            process.wait(timeout=0.05)  # the pause between attempts, and a check that it lives
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
    pytest.fail(f"the server did not open port {port}:\n{log.read_text()}")


@contextmanager
def serving(command: Sequence[str], *, env: dict[str, str], log: Path, port: int) -> Iterator[str]:
    """Run ``command`` (a server on ``port``) until the block ends; yields its base URL."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(process, port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


def seed(realm: Realm) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password=PASSWORD, email="alice@example.com")


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite realm file seeded by the test process, then served by a server process."""
    path = tmp_path_factory.mktemp("realm") / "auth.db"
    realm = Realm(SQLiteStore(path), password_hasher=FAST_HASHER)
    seed(realm)
    realm.close()
    return path


@pytest.fixture(scope="module")
def shared_realm(shared_db: Path) -> Iterator[Realm]:
    """The test process's own view of the shared realm file."""
    realm = Realm(SQLiteStore(shared_db), password_hasher=FAST_HASHER)
    yield realm
    realm.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as client:
        yield client


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
