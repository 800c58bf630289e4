"""Helpers shared by the SQLite store tests: child interpreters and their output, and a store
that stops halfway through noting a commit."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from baas_auth.stores import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]


def python_process(script: str, *args: str) -> subprocess.Popen[str]:
    """Start ``script`` in a fresh interpreter that can import baas_auth."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


class PausedBetweenTheTwoSteps(SQLiteStore):
    """A store whose slow path, on one chosen thread, stops between its two steps (giving the
    new reading a fresh number, and remembering the header that reading was taken from),
    whichever comes first: everything another thread may see at that moment."""

    def arm(self, thread: threading.Thread) -> None:
        """Stop ``thread`` (once) at its next change stamp that notes a commit."""
        self._paused_thread = thread
        self._first_step_done = False
        self.paused = threading.Event()
        self.resume = threading.Event()

    def __setattr__(self, name: str, value: object) -> None:
        armed = self.__dict__.get("_paused_thread") is threading.current_thread()
        if armed and name in ("_last_header", "_epoch"):
            if self._first_step_done:
                self.paused.set()
                assert self.resume.wait(timeout=60)
            else:
                self.__dict__["_first_step_done"] = True
        super().__setattr__(name, value)
