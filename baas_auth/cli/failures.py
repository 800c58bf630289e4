"""How a command fails: ``CommandError`` (the operation could not be done: exit 1) and
``UsageError`` (the command line itself is wrong: exit 2, as argparse's own errors)."""

from __future__ import annotations

__all__ = ["CommandError", "UsageError"]


class CommandError(Exception):
    """A failure argparse cannot see: empty or closed input, a missing realm file, a bad
    declaration file. Exit status 1."""


class UsageError(Exception):
    """A command line that cannot work whatever the realm holds (``--realm memory:``, a
    password expected from a terminal that is not there, ``demo --port`` on a busy port).
    Exit status 2."""
