"""Running ``baas-auth`` for the CLI tests (``test_cli*.py``): in-process through its entry
function by default, or as the real console script in a subprocess, as a shell script would.

Most tests check what a command prints and changes, which a subprocess adds nothing to but a
second and a half of interpreter start-up per call. So ``Cli`` calls ``baas_auth.cli.main`` as
the console script does, with what a process would give it: ``argv``; standard input as a UTF-8
text stream over bytes (with ``.buffer``, not a terminal, lines split at ``\\n`` as on POSIX), or
``None`` when it is closed (what Python sets ``sys.stdin`` to when descriptor 0 is closed);
stdout and stderr captured; the test's folder as working directory; the environment given (without
``$BAAS_REALM`` unless a test sets it); ``SystemExit`` turned into the exit status as Python does;
and the ``baas_auth`` loggers cut off from pytest's handlers during the call, so a warning reaches
the captured stderr as it would in a process with logging not configured. All of it is restored
after each call.

``Cli(folder, in_process=False)`` (or ``cli.real()``) runs the installed console script in a
subprocess instead: each test module keeps a few of those for what only a real process shows
(the exit status a shell sees, closed or piped standard input, ``os.environ`` of its own).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from baas_auth import Realm, SQLiteStore
from baas_auth.cli import main
from tests.conftest import FAST_HASHER
from tests.integration.conftest import server_env

__all__ = ["CLOSED", "Cli", "Done"]

CLOSED = object()
"""``stdin=CLOSED``: the command runs with its standard input closed (``<&-``)."""
TIMEOUT_S = 60


@dataclass
class Done:
    status: int
    out: str
    err: str


def console_script() -> str:
    """The ``baas-auth`` script installed beside this interpreter: found whether or not its
    environment is activated (``PATH`` may name another one, or none)."""
    beside = Path(sys.executable).parent / "baas-auth"
    if beside.exists():
        return str(beside)
    found = shutil.which("baas-auth")
    assert found, "the baas-auth console script is installed with the package"
    return found


class Cli:
    """``baas-auth`` run in ``folder`` on the realm ``realm`` (None: no ``--realm``, so
    ``$BAAS_REALM`` or the default); in-process unless ``in_process=False``."""

    def __init__(
        self, folder: Path, realm: str | None = "sqlite:///realm.db", *, in_process: bool = True
    ) -> None:
        self.script = console_script()
        self.folder = folder
        self.realm = realm
        self.in_process = in_process
        self.env = server_env()
        self.env.pop("BAAS_REALM", None)

    def real(self) -> Cli:
        """The same command line on the same realm, run as the real console script."""
        return Cli(self.folder, self.realm, in_process=False)

    @property
    def path(self) -> Path:
        """The realm's SQLite file."""
        assert self.realm is not None
        assert self.realm.startswith("sqlite:///")
        return self.folder / self.realm[len("sqlite:///") :]

    def __call__(
        self, *argv: str, stdin: object = "", env: Mapping[str, str] | None = None
    ) -> Done:
        realm = [] if self.realm is None else ["--realm", self.realm]
        environment = {**self.env, **(env or {})}
        if self.in_process:
            return _in_process([*realm, *argv], self.folder, stdin, environment)
        return self._subprocess([*realm, *argv], stdin, environment)

    def _subprocess(self, argv: list[str], stdin: object, env: dict[str, str]) -> Done:
        command = [self.script, *argv]
        text: str | None = None
        if stdin is CLOSED:
            command = ["sh", "-c", 'exec "$@" <&-', "sh", *command]
        else:
            assert isinstance(stdin, str)
            text = stdin
        done = subprocess.run(
            command, cwd=self.folder, env=env, input=text,
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def ok(self, *argv: str, stdin: object = "", env: Mapping[str, str] | None = None) -> str:
        """Stdout of a command that must succeed."""
        done = self(*argv, stdin=stdin, env=env)
        assert done.status == 0, (argv, done.err)
        assert "Traceback" not in done.err
        return done.out

    def json(self, *argv: str, stdin: object = "", env: Mapping[str, str] | None = None) -> Any:
        """The parsed stdout of a command run with ``--json`` that must succeed."""
        return json.loads(self.ok("--json", *argv, stdin=stdin, env=env))

    def fails(
        self,
        *argv: str,
        status: int = 1,
        stdin: object = "",
        env: Mapping[str, str] | None = None,
    ) -> str:
        """The one-line error of a command that must fail with ``status``; nothing on stdout."""
        done = self(*argv, stdin=stdin, env=env)
        assert done.status == status, (argv, done.status, done.out, done.err)
        assert done.out == ""
        assert "Traceback" not in done.err
        if status == 1:
            assert done.err.startswith("baas-auth: error: ") or done.err.startswith("{")
            assert done.err.count("\n") == 1, done.err
        return done.err

    def open(self) -> Realm:
        """The realm in-process, to check what the commands did."""
        return Realm(SQLiteStore(self.path), password_hasher=FAST_HASHER)


def _in_process(argv: list[str], folder: Path, stdin: object, env: dict[str, str]) -> Done:
    """``baas-auth argv`` through its entry function, as the console script runs it; an
    unexpected exception propagates (a process would print its traceback and exit 1)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        _standard_input(stdin),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _working_directory(folder),
        _environment(env),
        _unconfigured_logging(),
    ):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = _exit_status(exit_.code)
    return Done(status, out.getvalue(), err.getvalue())


def _exit_status(code: object) -> int:
    """The status Python's ``sys.exit(code)`` gives a process (a message goes to stderr)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _standard_input(stdin: object) -> Iterator[None]:
    stream: TextIO | None = None
    if stdin is not CLOSED:
        assert isinstance(stdin, str)
        stream = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8", newline="\n")
    saved = sys.stdin
    sys.stdin = stream  # None: what Python makes of a closed descriptor 0
    try:
        yield
    finally:
        sys.stdin = saved
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def _working_directory(folder: Path) -> Iterator[None]:
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _unconfigured_logging() -> Iterator[None]:
    """No handler for ``baas_auth`` records, so Python's last resort writes warnings to the
    (captured) stderr, as in a ``baas-auth`` process."""
    logger = logging.getLogger("baas_auth")
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [], False
    try:
        yield
    finally:
        logger.handlers, logger.propagate = saved
