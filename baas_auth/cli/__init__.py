"""The ``baas-auth`` command line: a local demo server, and the administration of a realm.

``baas-auth demo`` serves a wrapped example API on an embedded SQLite realm; every other command
reads or changes the realm named by ``--realm`` (default ``$BAAS_REALM``, else
``sqlite:///baas.db``). Exit status: 0 done, 1 the operation failed (one line on stderr), 2 the
command line is wrong. The reference is docs/cli.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from baas_auth.cli.failures import ArgumentsError, CommandError, UsageError
from baas_auth.cli.opening import opened_realm
from baas_auth.cli.output import Output
from baas_auth.cli.parser import build_parser
from baas_auth.errors import (
    AuthError,
    BaasAuthError,
    ConfigError,
    ConflictError,
    NotFoundError,
    StoreError,
)

if TYPE_CHECKING:
    from baas_auth.cli.demo import DEMO_PASSWORD
    from baas_auth.cli.demo_server import redact_query

__all__ = ["DEMO_PASSWORD", "main", "redact_query"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``baas-auth`` command; returns the process exit status."""
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(words)
    except ArgumentsError as error:
        return _report_usage(error, as_json=_asks_for_json(words))
    as_json = getattr(args, "json", False)
    try:
        if args.command == "demo":
            from baas_auth.cli import demo  # the server is imported only to serve

            return demo.run_demo(args.realm or demo.DEMO_REALM, args.host, args.port)
        standalone = getattr(args, "standalone", None)
        if standalone is not None:  # copy, backup, restore: stores, not an opened realm
            standalone(args, Output(json=as_json))
        else:
            with opened_realm(args) as realm:
                args.handler(realm, args, Output(json=as_json))
    except UsageError as error:
        return _report(error, EXIT_USAGE, as_json=as_json)
    except (BaasAuthError, CommandError) as error:
        return _report(error, EXIT_FAILED, as_json=as_json)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `baas-auth list-users … | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return EXIT_OK


def _report(error: Exception, status: int, *, as_json: bool) -> int:
    message = " ".join(str(error).split()) or type(error).__name__
    if as_json:
        print(json.dumps({"error": _code(error), "message": message}), file=sys.stderr)
    else:
        print(f"baas-auth: error: {message}", file=sys.stderr)
    return status


def _asks_for_json(words: list[str]) -> bool:
    """Whether a command line that argparse refused asked for ``--json`` (before any ``--``)."""
    options = words[: words.index("--")] if "--" in words else words
    return "--json" in options


def _report_usage(error: ArgumentsError, *, as_json: bool) -> int:
    """argparse's usage error: as JSON with ``--json``, else as argparse prints it."""
    if as_json:
        return _report(error, EXIT_USAGE, as_json=True)
    error.parser.print_usage(sys.stderr)
    print(f"{error.parser.prog}: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def _code(error: Exception) -> str:
    """The ``error`` of a JSON error report."""
    if isinstance(error, UsageError):
        return "usage"
    if isinstance(error, AuthError):
        return error.error  # invalid_grant, invalid_client, …: the token endpoint's codes
    kinds: tuple[tuple[type[Exception], str], ...] = (
        (NotFoundError, "not_found"),
        (ConflictError, "conflict"),
        (ConfigError, "invalid"),
        (StoreError, "store_unavailable"),
    )
    return next((code for kind, code in kinds if isinstance(error, kind)), "failed")


def __getattr__(name: str) -> object:
    """The demo's names, imported when asked for (an admin command never loads a server)."""
    if name == "DEMO_PASSWORD":
        from baas_auth.cli.demo import DEMO_PASSWORD

        return DEMO_PASSWORD
    if name == "redact_query":
        from baas_auth.cli.demo_server import redact_query

        return redact_query
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
