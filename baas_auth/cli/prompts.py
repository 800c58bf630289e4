"""Reading secrets: passwords, client secrets and tokens, never from the command line (a command
line is visible to every user of the machine and kept in shell history).

A terminal is prompted (a new password twice); ``--password-stdin`` (``--secret-stdin``) reads
one line from standard input instead. Piped input without that option is a usage error, and
closed or empty input a one-line error, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from baas_auth.cli.failures import CommandError, UsageError

__all__ = ["add_password_options", "read_password", "read_secret", "read_token"]


def add_password_options(sub: argparse.ArgumentParser, *, optional: bool = False) -> None:
    sub.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (one line) instead of a prompt",
    )
    if optional:
        sub.add_argument(
            "--no-password",
            action="store_true",
            help="give it no password (it cannot sign in with one until set-password)",
        )


def read_password(args: argparse.Namespace, *, confirm: bool) -> str | None:
    """The password the command line asks for; None with ``--no-password``."""
    if getattr(args, "no_password", False):
        if args.password_stdin:
            raise UsageError("--no-password and --password-stdin exclude each other")
        return None
    if args.password_stdin:
        return _nonempty(_stdin_line("password"), "the password")
    return _prompted("Password", "--password-stdin", confirm=confirm)


def read_secret(args: argparse.Namespace) -> str:
    """A client secret: ``--secret-stdin``, else a prompt."""
    if args.secret_stdin:
        return _nonempty(_stdin_line("client secret").strip(), "the client secret")
    return _prompted("Client secret", "--secret-stdin", confirm=False)


def read_token() -> str:
    """A token: prompted on a terminal, else the first line of standard input."""
    token = _ask("Token: ") if _is_terminal() else _stdin_line("token")
    return _nonempty(token.strip(), "the token")


def _prompted(what: str, option: str, *, confirm: bool) -> str:
    if not _is_terminal():
        raise UsageError(
            f"standard input is not a terminal: give {option} to read the "
            f"{what.lower()} from it"
        )
    value = _nonempty(_ask(f"{what}: "), f"the {what.lower()}")
    if confirm and _ask(f"{what} (again): ") != value:
        raise CommandError(f"the two {what.lower()}s differ")
    return value


def _ask(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError:  # Ctrl-D at the prompt
        raise CommandError("no input: the prompt was closed") from None


def _is_terminal() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and not stdin.closed and stdin.isatty()
    except (OSError, ValueError):
        return False


def _stdin_line(what: str) -> str:
    """One line of standard input without its line end (spaces may belong to a password)."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise CommandError(f"standard input is closed: no {what} to read")
    try:
        line = stdin.readline()
    except UnicodeDecodeError:
        raise CommandError(f"the {what} on standard input is not UTF-8 text") from None
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read the {what} from standard input: {error}") from None
    if not line:
        raise CommandError(f"standard input is empty or closed: no {what} to read")
    return line.rstrip("\r\n")


def _nonempty(value: str, what: str) -> str:
    if not value:
        raise CommandError(f"{what} is empty")
    return value
