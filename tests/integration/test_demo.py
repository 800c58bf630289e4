"""``python -m baas_auth demo``: the printed curl commands work as printed, and nothing secret is
logged."""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from baas_auth.cli import DEMO_PASSWORD, redact_query
from tests.integration.conftest import server_env, stop

READY_TIMEOUT_S = 30
COMMAND_TIMEOUT_S = 30
STATUS_LINE = re.compile(r"^HTTP/[0-9.]+ (\d{3})", re.MULTILINE)


# A bound, not a wait: the demo stops at once; a loaded 2-core machine may take seconds.
STOP_TIMEOUT_S = 60


@dataclass
class Demo:
    process: subprocess.Popen[str]
    banner: list[str]
    log: Path

    @property
    def url(self) -> str:
        match = re.search(r"Serving on (http://\S+)", self.banner[-1])
        assert match, self.banner[-1]
        return match.group(1)

    def field(self, name: str) -> str:
        """A value of the banner, such as ``client_secret``."""
        for line in self.banner:
            match = re.match(rf"\s+{name}:\s+(\S+)", line)
            if match:
                return match.group(1)
        raise AssertionError(f"no {name} in the banner")

    def steps(self) -> list[tuple[str, str]]:
        """(comment, command) for each printed command, in order."""
        found: list[tuple[str, str]] = []
        comment = ""
        for line in (raw.strip() for raw in self.banner):
            if line.startswith("# "):
                comment = line
            elif line.startswith(("curl ", "TOKEN=")):
                found.append((comment, line))
        return found

    def interrupt(self) -> tuple[int, str, str]:
        """Ctrl-C; returns the exit status, the rest of stdout, and the log (stderr)."""
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=STOP_TIMEOUT_S)
        return self.process.returncode, rest, self.log.read_text()


def _read_banner(process: subprocess.Popen[str]) -> list[str]:
    """Lines up to the readiness line, waiting a bounded time for each."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, ""):
            lines.put(line.rstrip("\n"))
            if line.startswith("Serving on"):
                return
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, "the demo exited before serving:\n" + "\n".join(banner)
        banner.append(line)
        if line.startswith("Serving on"):
            return banner


@contextmanager
def running_demo(folder: Path) -> Iterator[Demo]:
    log = folder / "demo-stderr.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "baas_auth", "demo", "--port", "0"],
            cwd=folder,
            env=server_env(),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            yield Demo(process, _read_banner(process), log)
        finally:
            stop(process)


def _bash(command: str, token: str = "") -> str:
    env = server_env(TOKEN=token)
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env=env,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _status(curl_output: str) -> int:
    statuses = STATUS_LINE.findall(curl_output)
    assert statuses, curl_output
    return int(statuses[-1])


def test_printed_flow_works_and_logs_no_secret(tmp_path: Path) -> None:
    assert shutil.which("curl"), "the demo prints curl commands: install curl to test them"
    assert shutil.which("bash")
    with running_demo(tmp_path) as demo:
        assert demo.url.startswith("http://127.0.0.1:")
        steps = demo.steps()
        expected = [re.search(r"expect (\d{3})", comment) for comment, _ in steps]
        assert [int(m.group(1)) if m else None for m in expected] == [
            200, 401, None, 200, 403, 200, 401, None
        ]
        token = ""
        client_token = ""
        for (_, command), want in zip(steps, expected, strict=True):
            output = _bash(command, token)
            if command.startswith("TOKEN="):
                token = output.strip()
                assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token), output
            elif want is not None:
                assert _status(output) == int(want.group(1)), (command, output)
            else:
                answer = json.loads(output)
                assert answer["token_type"] == "Bearer"
                assert "application" in answer
                client_token = answer["access_token"]
        assert token
        assert client_token

        # The client token opens the shop; query credentials are accepted and must be redacted.
        with httpx.Client(timeout=20) as http:
            shop = f"{demo.url}/acme/shop/books"
            as_client = http.get(shop, params={"access_token": client_token})
            assert as_client.status_code == 200
            assert as_client.json()["principal"]["kind"] == "app_client"
            by_query = http.get(
                f"{demo.url}/acme/shop/token",
                params={"grant_type": "password", "username": "alice", "password": DEMO_PASSWORD},
            )
            assert by_query.status_code == 200
            third_token = by_query.json()["access_token"]
            secret = demo.field("client_secret")
            client_id = demo.field("client_id")
            creds = {"client_id": client_id, "client_secret": secret}
            assert http.get(shop, params=creds).status_code == 200
            # An encoded parameter name is still a credential, so it is redacted as one.
            assert http.get(f"{shop}?%61ccess_token={third_token}").status_code == 200
        _send_malformed_request_line(demo.url, third_token)

        status, rest, log = demo.interrupt()
    assert status == 0
    assert "Stopped." in rest
    assert "Traceback" not in log
    for secret_text in (token, client_token, third_token, secret, DEMO_PASSWORD):
        assert secret_text not in log
    assert "revoketoken?token=***" in log
    assert "access_token=***" in log
    assert "password=***" in log
    assert "client_secret=***" in log
    assert '"GET /acme/sandbox/books" 200' in log
    assert "refused a request the server could not parse (400)" in log


def _send_malformed_request_line(url: str, token: str) -> None:
    """A request line the server cannot parse: its standard error log would quote it whole."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET /acme/shop/books?access_token={token} HTTP/1.1 extra\r\n\r\n".encode())
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):  # until the server closes the connection
            pass


def test_rerun_reuses_the_realm_with_a_new_secret(tmp_path: Path) -> None:
    with running_demo(tmp_path) as first:
        first_id, first_secret = first.field("client_id"), first.field("client_secret")
        assert first.interrupt()[0] == 0
    with running_demo(tmp_path) as second:
        assert second.field("client_id") == first_id
        second_secret = second.field("client_secret")
        assert second_secret != first_secret
        token_url = f"{second.url}/acme/shop/token"
        with httpx.Client(timeout=20) as http:
            for secret, status in ((first_secret, 401), (second_secret, 200)):
                answer = http.post(
                    token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": first_id,
                        "client_secret": secret,
                    },
                )
                assert answer.status_code == status, answer.text
            login = http.post(
                token_url,
                data={"grant_type": "password", "username": "alice", "password": DEMO_PASSWORD},
            )
            assert login.status_code == 200
        assert second.interrupt()[0] == 0
    assert (tmp_path / "baas-demo.db").exists()


def test_ctrl_c_does_not_wait_for_an_open_connection(tmp_path: Path) -> None:
    """A client that connected and sent nothing holds a request thread in a blocking read:
    the server must not wait for it (request threads are daemons, never joined)."""
    with running_demo(tmp_path) as demo:
        host, port = demo.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10):
            status, rest, _ = demo.interrupt()
        assert status == 0
        assert "Stopped." in rest


def test_terminate_stops_cleanly(tmp_path: Path) -> None:
    with running_demo(tmp_path) as demo:
        demo.process.send_signal(signal.SIGTERM)
        rest, _ = demo.process.communicate(timeout=STOP_TIMEOUT_S)
        assert demo.process.returncode == 0
        assert "Stopped." in rest
        assert "Traceback" not in demo.log.read_text()


def test_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "baas_auth", "demo", "--port", str(port)],
            cwd=tmp_path, env=server_env(), capture_output=True, text=True, timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.startswith(f"baas-auth: error: cannot listen on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("a=1&b=2", "a=1&b=2"),
        ("access_token=T&x=1", "access_token=***&x=1"),
        ("%61ccess_token=T", "%61ccess_token=***"),
        ("client_id=c&client_secret=S", "client_id=c&client_secret=***"),
        ("username=u&password=p%20w", "username=u&password=***"),
        ("token=T&Token=U", "token=***&Token=***"),
        ("tokens=keep", "tokens=keep"),
        ("password", "password=***"),
    ],
)
def test_redact_query(query: str, shown: str) -> None:
    assert redact_query(query) == shown
