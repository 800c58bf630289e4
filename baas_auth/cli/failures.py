"""How a command fails: ``CommandError`` (the operation could not be done: exit 1) and
``UsageError`` (the command line itself is wrong: exit 2, as argparse's own errors)."""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["ArgumentParser", "ArgumentsError", "CommandError", "UsageError"]


class CommandError(Exception):
    """A failure argparse cannot see: empty or closed input, a missing realm file, a bad
    declaration file. Exit status 1."""


class UsageError(Exception):
    """A command line that cannot work whatever the realm holds (``--realm memory:``, a
    password expected from a terminal that is not there, ``demo --port`` on a busy port).
    Exit status 2."""


class ArgumentsError(UsageError):
    """argparse's own usage error (an unknown command or option, a missing argument), raised
    instead of printed so that ``--json`` can report it as JSON. ``parser`` is the (sub)parser
    that refused, for its usage line."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are raised (``ArgumentsError``), not printed."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentsError(self, message)
