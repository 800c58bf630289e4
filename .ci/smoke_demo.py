"""Smoke test of an installed baas-auth: run ``baas-auth demo`` and follow its printed flow.

Usage: ``python .ci/smoke_demo.py VENV`` where VENV is a virtual environment into which the
wheel was installed (not an editable install). Standard library only, so that it runs with any
Python. Checks that:

* the installed package is the one in VENV (not this source tree) and ships ``py.typed``;
* ``VENV/bin/baas-auth demo --port 0``, started in an empty temporary folder, prints its banner
  and "Serving on URL" within READY_TIMEOUT_S;
* the flow the banner prints works: 200 on the open sandbox app, 401 without a token, a token
  from the password grant, 200 with it (and the inner app sees alice), 403 for what alice's
  rules do not allow, the token revoked by its owner, then 401 with it;
* Ctrl-C (SIGINT) stops it with status 0 and "Stopped." within STOP_TIMEOUT_S, with no traceback.

Exits 0 when every check passed; otherwise prints what failed, with the demo's output, and
exits 1.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

READY_TIMEOUT_S = 60  # a cold start on a loaded 2-core machine; normally well under a second
STOP_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 30

# The demo's stdout is read by a thread into this queue; None marks its end.
_Lines = queue.Queue[str | None]


class SmokeFailure(Exception):
    """A check failed; the message says which."""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} VENV", file=sys.stderr)
        return 2
    venv = Path(argv[1]).resolve()
    with tempfile.TemporaryDirectory(prefix="baas-smoke-") as folder:
        try:
            check_installed(venv, Path(folder))
            run_demo(venv, Path(folder))
        except SmokeFailure as failure:
            print(f"smoke test FAILED: {failure}", file=sys.stderr)
            return 1
    print("smoke test passed: the installed wheel's demo serves its printed flow and stops")
    return 0


def bin_path(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def check_installed(venv: Path, folder: Path) -> None:
    """The package imported from VENV lives in VENV's site-packages and ships py.typed."""
    probe = (
        "import pathlib, baas_auth; p = pathlib.Path(baas_auth.__file__).parent; "
        "print(p); print((p / 'py.typed').is_file()); print(baas_auth.__version__)"
    )
    done = subprocess.run(  # noqa: S603 - the venv this script was given
        [str(bin_path(venv, "python")), "-c", probe],
        cwd=folder,  # not the source tree, which would shadow the installed package
        capture_output=True,
        text=True,
        timeout=REQUEST_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise SmokeFailure(f"import baas_auth failed in {venv}:\n{done.stderr}")
    location, typed, version = done.stdout.split()
    if not Path(location).is_relative_to(venv):
        raise SmokeFailure(f"baas_auth was imported from {location}, not from {venv}")
    if typed != "True":
        raise SmokeFailure("the installed package has no py.typed")
    print(f"installed baas_auth {version} from {location}")


def run_demo(venv: Path, folder: Path) -> None:
    log = folder / "demo-stderr.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("BAAS_REALM", None)
    with log.open("w") as errors:
        process = subprocess.Popen(  # noqa: S603 - the venv this script was given
            [str(bin_path(venv, "baas-auth")), "demo", "--port", "0"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    lines: _Lines = queue.Queue()
    threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
    banner: list[str] = []
    try:
        banner = _read_banner(lines)
        follow_flow(banner)
        rest = interrupt(process, lines)
    except SmokeFailure as failure:
        _kill(process)
        raise SmokeFailure(
            f"{failure}\n--- demo stdout ---\n"
            + "\n".join(banner + _drain(lines))
            + f"\n--- demo stderr ---\n{log.read_text()}"
        ) from None
    except BaseException:
        _kill(process)
        raise
    stderr = log.read_text()
    if "Traceback" in stderr:
        raise SmokeFailure(f"the demo printed a traceback:\n{stderr}")
    if "Stopped." not in rest:
        raise SmokeFailure(f"the demo did not say 'Stopped.' on Ctrl-C; it printed {rest!r}")


def _pump(process: subprocess.Popen[str], lines: _Lines) -> None:
    assert process.stdout is not None
    for line in iter(process.stdout.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _drain(lines: _Lines) -> list[str]:
    found: list[str] = []
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            return found
        if line is not None:
            found.append(line)


def _read_banner(lines: _Lines) -> list[str]:
    banner: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise SmokeFailure(f"no 'Serving on' line within {READY_TIMEOUT_S} s") from None
        if line is None:
            raise SmokeFailure("the demo exited before serving")
        banner.append(line)
        if line.startswith("Serving on"):
            return banner


def _banner_field(banner: list[str], name: str) -> str:
    for line in banner:
        match = re.match(rf"\s+{name}:\s+(\S+)", line)
        if match:
            return match.group(1)
    raise SmokeFailure(f"no {name} in the banner")


def follow_flow(banner: list[str]) -> None:
    """Steps 1 to 7 of the flow the demo prints, against the URLs it prints."""
    served = re.search(r"Serving on (http://\S+)", banner[-1])
    if not served:
        raise SmokeFailure(f"no URL in {banner[-1]!r}")
    base = served.group(1)
    text = "\n".join(banner)
    # The token step names the shop's URL; the first unauthenticated step is the open sandbox.
    token_step = re.search(rf"curl -s ({re.escape(base)}/\S+)/token -d grant_type=password", text)
    sandbox_step = re.search(rf"^\s*curl -i ({re.escape(base)}/\S+)$", text, re.MULTILINE)
    if not token_step or not sandbox_step:
        raise SmokeFailure("the banner prints no password-grant step or no sandbox step")
    shop = token_step.group(1)
    user = _banner_field(banner, "user")
    password = _banner_field(banner, "password")

    _expect(200, "GET", sandbox_step.group(1))
    _expect(401, "GET", f"{shop}/books")
    status, body = _request(
        "POST",
        f"{shop}/token",
        data={"grant_type": "password", "username": user, "password": password},
    )
    if status != 200:
        raise SmokeFailure(f"the password grant answered {status}: {body!r}")
    grant = json.loads(body)
    token = grant.get("access_token")
    if not isinstance(token, str) or grant.get("token_type") != "Bearer":
        raise SmokeFailure(f"the token answer has no Bearer access_token: {sorted(grant)}")
    bearer = {"Authorization": f"Bearer {token}"}
    answer = json.loads(_expect(200, "GET", f"{shop}/books", headers=bearer))
    if (answer.get("principal") or {}).get("username") != user:
        raise SmokeFailure(f"the inner app did not see {user}: {answer!r}")
    _expect(403, "POST", f"{shop}/books", headers=bearer, data={"title": "Dune"})
    query = urllib.parse.urlencode({"token": token})
    _expect(200, "PUT", f"{shop}/users/me/revoketoken?{query}", headers=bearer)
    _expect(401, "GET", f"{shop}/books", headers=bearer)
    print(f"demo flow at {shop}: sandbox 200; 401, token, 200, 403, revoked, 401")


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def _request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    body = None if data is None else urllib.parse.urlencode(data).encode("ascii")
    # http:// on loopback, from the demo's own banner
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with _OPENER.open(request, timeout=REQUEST_TIMEOUT_S) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
    except OSError as error:
        raise SmokeFailure(f"{method} {url}: {error}") from None


def _expect(
    status: int,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> bytes:
    got, body = _request(method, url, headers=headers, data=data)
    if got != status:
        shown = url.split("?")[0]
        raise SmokeFailure(f"{method} {shown}: expected {status}, got {got}: {body[:300]!r}")
    return body


def interrupt(process: subprocess.Popen[str], lines: _Lines) -> str:
    """Ctrl-C; the demo must exit 0 within STOP_TIMEOUT_S. Returns the rest of its stdout."""
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        status = process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"the demo did not stop within {STOP_TIMEOUT_S} s of Ctrl-C") from None
    rest: list[str] = []
    try:
        while (line := lines.get(timeout=STOP_TIMEOUT_S)) is not None:
            rest.append(line)
    except queue.Empty:
        raise SmokeFailure("the demo exited but its output did not end") from None
    if status != 0:
        raise SmokeFailure(f"the demo exited {status} on Ctrl-C")
    print(f"Ctrl-C: stopped with status 0 in {time.monotonic() - started:.2f} s")
    return "\n".join(rest)


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
