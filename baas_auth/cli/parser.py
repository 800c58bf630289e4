"""The ``baas-auth`` argument parser: the options every command takes, the demo, and the
administrative commands of each subject module."""

from __future__ import annotations

import argparse
import re
from typing import Any

from baas_auth import __version__
from baas_auth.cli import (
    access_cmds,
    account_cmds,
    check,
    declarative,
    idp_cmds,
    import_cmds,
    orgs,
    token_cmds,
    transfer_cmds,
)
from baas_auth.cli.failures import ArgumentParser
from baas_auth.cli.registry import Commands

__all__ = ["build_parser"]

SUBJECTS = (
    orgs.register,
    account_cmds.register,
    access_cmds.register,
    token_cmds.register,
    idp_cmds.register,
    declarative.register,
    import_cmds.register,
    check.register,
    transfer_cmds.register,
)
"""The modules that add the administrative commands, in the order ``--help`` lists them."""

_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="baas-auth",
        description="Serve a demo, or administer a baas_auth realm.",
        epilog="The realm is --realm URL, else $BAAS_REALM, else sqlite:///baas.db "
        "(sqlite:///relative.db, sqlite:////absolute.db, redis://host:6379/0); copy names "
        "its two stores. Exit status: "
        "0 done, 1 the operation failed, 2 a usage error. See docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"baas-auth {__version__}")
    _options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The options again on every command, so they may stand before or after its name;
    # SUPPRESS keeps one given before from being hidden by the default after.
    common = argparse.ArgumentParser(add_help=False)
    _options(common, suppress=True)
    _add_demo(subparsers)
    commands = Commands(subparsers, common)
    for register in SUBJECTS:
        register(commands)
    return parser


def _options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument("--realm", metavar="URL", help="the realm's store URL", **unset)
    parser.add_argument(
        "--json", action="store_true", help="answer in JSON (errors too, on stderr)", **unset
    )
    parser.add_argument(
        "--create",
        action="store_true",
        help="make the realm's SQLite file if it does not exist (never made otherwise, but "
        "by create-org, create-admin, apply and import)",
        **unset,
    )


def _add_demo(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    text = "serve a wrapped example API on localhost and print curl commands to try"
    realm = ArgumentParser(add_help=False)
    realm.add_argument("--realm", metavar="URL", default=argparse.SUPPRESS, help="store URL")
    demo = subparsers.add_parser("demo", parents=[realm], help=text, description=text)
    demo.add_argument("--host", default="127.0.0.1", type=_host, help="default 127.0.0.1")
    demo.add_argument("--port", default=8000, type=int, help="default 8000; 0 picks a free one")


def _host(text: str) -> str:
    if not _HOST.fullmatch(text):
        raise argparse.ArgumentTypeError("a host name or an IP address")
    return text
