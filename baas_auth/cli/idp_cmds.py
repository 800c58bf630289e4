"""The commands for identity providers (behaviour §8): trust one in an app (or, without an app,
for an org's admin users), list them, stop trusting one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from baas_auth.cli.output import Output
from baas_auth.cli.registry import Commands
from baas_auth.errors import ConfigError
from baas_auth.realm import Realm

__all__ = ["register"]

_COLUMNS = ("issuer", "audience", "keys", "username_claim", "provision")


def register(commands: Commands) -> None:
    text = "trust the JWTs an identity provider signs, in an app (no app: the org's admins)"
    sub = commands.add("add-idp", _add, text)
    _owner(sub)
    sub.add_argument("--issuer", required=True, help="the exact `iss` of its tokens")
    sub.add_argument("--audience", required=True, help="the `aud` its tokens must carry")
    keys = sub.add_mutually_exclusive_group(required=True)
    keys.add_argument("--jwks-url", help="where its keys are published (https://)")
    keys.add_argument("--jwks-file", type=Path, help="a JSON file holding its key set")
    sub.add_argument("--algorithm", action="append", dest="algorithms",
                     help="an allowed algorithm (repeat; default RS256 and ES256)")
    sub.add_argument("--username-claim", default="sub")
    sub.add_argument("--roles-claim")
    sub.add_argument("--groups-claim")
    sub.add_argument("--map-role", action="append", default=[], metavar="THEIRS=OURS",
                     help="map a provider role name to an app role (repeat)")
    sub.add_argument("--provision", action="store_true", help="create users on first sight")
    sub.add_argument("--leeway-s", type=int, default=30)
    sub.add_argument("--cooldown-s", type=float, default=30)
    sub.add_argument("--timeout-s", type=float, default=5)
    sub = commands.add("list-idps", _list, "list the identity providers of an app (or an org)")
    _owner(sub)
    sub = commands.add("remove-idp", _remove, "stop trusting an identity provider")
    _owner(sub)
    sub.add_argument("--issuer", required=True)


def _owner(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("org")
    sub.add_argument("app", nargs="?", default=None, help="none: the org's admin users")


def _where(args: argparse.Namespace) -> str:
    return args.org if args.app is None else f"{args.org}/{args.app}"


def _add(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    provider = realm.add_identity_provider(
        args.org,
        args.app,
        issuer=args.issuer,
        audience=args.audience,
        jwks_url=args.jwks_url,
        jwks=None if args.jwks_file is None else _key_set(args.jwks_file),
        algorithms=tuple(args.algorithms or ("RS256", "ES256")),
        username_claim=args.username_claim,
        roles_claim=args.roles_claim,
        groups_claim=args.groups_claim,
        role_map=_role_map(args.map_role) or None,
        provision=args.provision,
        leeway_s=args.leeway_s,
        cooldown_s=args.cooldown_s,
        timeout_s=args.timeout_s,
    )
    out.done(f"{_where(args)} trusts {provider.issuer}", provider.as_dict())


def _list(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    rows = [
        {**provider.as_dict(), "keys": provider.jwks_url or "inline"}
        for provider in realm.identity_providers(args.org, args.app)
    ]
    out.table(rows, _COLUMNS, empty=f"{_where(args)} trusts no identity provider")


def _remove(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.remove_identity_provider(args.org, args.app, args.issuer)
    out.done(f"{_where(args)} no longer trusts {args.issuer}", {"removed": args.issuer})


def _key_set(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the key set file could not be read as JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError("the key set file holds a JSON object: {\"keys\": [...]}")
    return document


def _role_map(pairs: list[str]) -> dict[str, str]:
    mapped: dict[str, str] = {}
    for pair in pairs:
        theirs, sep, ours = pair.partition("=")
        if not sep or not theirs or not ours:
            raise ConfigError(f"--map-role takes THEIRS=OURS, not {pair!r}")
        mapped[theirs] = ours
    return mapped


