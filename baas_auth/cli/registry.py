"""What every administrative command shares: how it is registered (its handler, whether it may
make a new realm file), the arguments that recur (``ORG APP``, ``--role|--user|--group``,
``--exist-ok``), and what ``--exist-ok`` does."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from baas_auth.cli.output import Output
from baas_auth.errors import ConflictError, NotFoundError
from baas_auth.realm import Realm

__all__ = [
    "Commands",
    "Handler",
    "add_exist_ok",
    "add_org_app",
    "add_target",
    "created_or_existing",
    "target_of",
    "ttl_value",
    "where",
]

Handler = Callable[[Realm, argparse.Namespace, Output], None]
T = TypeVar("T")


class Commands:
    """Adds the subcommands of ``baas-auth``, each with the options every command takes."""

    def __init__(self, subparsers: Any, common: argparse.ArgumentParser) -> None:
        self._subparsers = subparsers  # argparse's private _SubParsersAction
        self.common = common

    def add(
        self, name: str, handler: Handler, text: str, *, creates: bool = False
    ) -> argparse.ArgumentParser:
        """A subcommand running ``handler``; ``creates``: it may make a new realm file."""
        sub = self.parser(name, text)
        sub.set_defaults(handler=handler, creates=creates)
        return sub

    def parser(self, name: str, text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = self._subparsers.add_parser(
            name, parents=[self.common], help=text, description=text
        )
        return sub


def add_org_app(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("org")
    sub.add_argument("app")


def add_exist_ok(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--exist-ok",
        action="store_true",
        help="if it exists already, show it and succeed (nothing is changed)",
    )


def add_target(sub: argparse.ArgumentParser, kinds: tuple[str, ...]) -> None:
    """Exactly one of ``--role``/``--user``/``--group`` (those of ``kinds``)."""
    group = sub.add_mutually_exclusive_group(required=True)
    for kind in kinds:
        group.add_argument(f"--{kind}", dest=f"to_{kind}", metavar=kind.upper())
    sub.set_defaults(target_kinds=kinds)


def target_of(args: argparse.Namespace) -> dict[str, str | None]:
    """The one ``--role``/``--user``/``--group`` given, as the keyword the Realm takes."""
    given = {kind: getattr(args, f"to_{kind}") for kind in args.target_kinds}
    return {kind: name for kind, name in given.items() if name is not None}


def where(args: argparse.Namespace) -> str:
    """``org/app`` as given on the command line."""
    return f"{args.org}/{args.app}"


def ttl_value(text: str) -> int | None:
    """An accesstokenttl on the command line: milliseconds, or ``none``."""
    if text.lower() == "none":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError("milliseconds (0: never expire) or 'none'")
    return int(text)


def add_refresh_ttl_arguments(sub: argparse.ArgumentParser) -> None:
    """``MS|none`` (a refresh-token family's life) and ``--grace-ms``."""
    sub.add_argument("ttl", metavar="MS|none", type=ttl_value, help="none or 0: off")
    sub.add_argument(
        "--grace-ms",
        type=int,
        default=0,
        help="how long the previous refresh token may be retried without ending its family "
        "(0 to 60000; 0)",
    )


def refresh_sentence(ttl_ms: int | None, grace_ms: int) -> str:
    """A refresh setting in words, for the commands that change one."""
    if not ttl_ms:
        return "off"
    return f"a family lives {ttl_ms} ms" + (f", grace {grace_ms} ms" if grace_ms else "")


def created_or_existing(
    args: argparse.Namespace, create: Callable[[], T], existing: Callable[[], T]
) -> tuple[T, bool]:
    """``create()`` and True; with ``--exist-ok``, what exists by that name and False when
    the name is taken by it (a name taken by something else stays a conflict)."""
    try:
        return create(), True
    except ConflictError:
        if not args.exist_ok:
            raise
        try:
            return existing(), False
        except NotFoundError:
            pass
        raise
