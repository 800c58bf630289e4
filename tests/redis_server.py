"""A real ``redis-server`` for the tests: its own process, loopback port and folder.

The server keeps an append-only file in its folder, so a test can kill it and start it again on
the same port with the same data. It is polled until it answers PING (with a deadline), never
waited for with a fixed sleep.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

__all__ = ["RedisServer", "free_port", "require_redis_server"]

START_DEADLINE_S = 15.0
POLL_INTERVAL_S = 0.005


def require_redis_server() -> str:
    """The redis-server executable; fails the test (never skips) when it is not installed."""
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail(
            "redis-server is not installed, and the Redis store tests need a real one:"
            " apt-get install redis-server (CI's .ci/run installs it)",
            pytrace=False,
        )
    return found


def free_port() -> int:
    """A loopback TCP port nobody listens on (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process with its files in ``folder``; ``start``, ``kill``, ``stop``."""

    def __init__(
        self,
        folder: Path,
        *,
        unix_socket: Path | None = None,
        durable: bool = True,
        options: tuple[str, ...] = (),
    ) -> None:
        """``durable``: every write is on disk before Redis answers it (``appendfsync
        always``), so a test that kills the server and starts it again finds every write it
        was told of. Without it (for the busy servers the whole session shares) Redis may hold
        a write back for up to two seconds while an earlier fsync runs, and a kill loses it.
        ``options``: more of redis-server's command line (a replica's ``--replicaof``, a
        cluster node's ``--cluster-enabled yes``)."""
        self.durable = durable
        self.options = options
        self.executable = require_redis_server()
        self.folder = folder
        self.port = 0 if unix_socket else free_port()
        self.unix_socket = unix_socket
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}?db=0"
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A plain client, for tests to look at the server directly."""
        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)

    def _command_line(self) -> list[str]:
        line = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        line += ["--save", "", "--appendonly", "yes", "--dir", str(self.folder)]
        line += ["--appendfsync", "always" if self.durable else "everysec"]
        line += ["--logfile", str(self.folder / "redis.log"), "--daemonize", "no"]
        line += self.options
        if self.unix_socket is not None:
            line += ["--unixsocket", str(self.unix_socket), "--unixsocketperm", "700"]
        return line

    def start(self) -> RedisServer:
        """Start the server (again: same port, same files) and wait until it answers."""
        self.process = subprocess.Popen(
            self._command_line(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        with self.client() as probe:
            while True:
                try:
                    if probe.ping():
                        return
                except redis.exceptions.RedisError:
                    pass  # loading its files, or not listening yet
                self._check_running()
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"redis-server did not answer within {START_DEADLINE_S} s")
                time.sleep(POLL_INTERVAL_S)

    def _check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            _, errors = self.process.communicate()
            log = self.folder / "redis.log"
            logged = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"redis-server exited ({self.process.returncode}): {errors!r} {logged}")

    def kill(self) -> None:
        """Stop it the hard way (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()

    def stop(self) -> None:
        """Stop it politely (SIGTERM), killing it if it takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
