"""Running the real ``baas-auth`` console script in a subprocess, as a shell script would, for
the CLI tests (``test_cli*.py``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baas_auth import Realm, SQLiteStore
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
    ``$BAAS_REALM`` or the default)."""

    def __init__(self, folder: Path, realm: str | None = "sqlite:///realm.db") -> None:
        self.script = console_script()
        self.folder = folder
        self.realm = realm
        self.env = server_env()
        self.env.pop("BAAS_REALM", None)

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
        command = [self.script, *realm, *argv]
        text: str | None = None
        if stdin is CLOSED:
            command = ["sh", "-c", 'exec "$@" <&-', "sh", *command]
        else:
            assert isinstance(stdin, str)
            text = stdin
        done = subprocess.run(
            command, cwd=self.folder, env={**self.env, **(env or {})}, input=text,
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
