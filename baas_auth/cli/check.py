"""``baas-auth check``: may this principal send METHOD to PATH of an app, and why (the rule that
allows it and where it comes from, or the rules considered when none does). Built on
``Realm.explain``; the principal is named (a user, a client, an admin) or given as a token.
An identity provider's token (a JWT) is explained by ``Realm.check_provider_token``: which
provider, the checks it passed, whom it stands for and how."""

from __future__ import annotations

import argparse

from baas_auth.cli.output import Output
from baas_auth.cli.prompts import read_token
from baas_auth.cli.registry import Commands, add_org_app
from baas_auth.errors import NotFoundError
from baas_auth.model import Explanation, Principal, PrincipalKind
from baas_auth.realm import Realm

__all__ = ["register"]

_NO_RULE = "no-rule-matched"
_ROUTE_GUARD_NOTE = (
    "refused by the rules alone; behind a framework helper (protect, init_app, the Django "
    "middleware) a require(...) guard on the route would decide (docs/frameworks.md, "
    "'Guards and rules')"
)


def register(commands: Commands) -> None:
    text = "may a principal send METHOD to PATH of an app, and which rule decides"
    sub = commands.add("check", _check, text)
    add_org_app(sub)
    sub.add_argument("method", help="GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS")
    sub.add_argument("path", help="the app-relative route path, e.g. /books/42")
    who = sub.add_mutually_exclusive_group()
    who.add_argument("--user", help="an app user: username, email or uuid (the default: a guest)")
    who.add_argument("--client", metavar="CLIENT_ID", help="org or app client credentials")
    who.add_argument("--admin", help="an admin user: username, email or uuid")
    who.add_argument(
        "--token-stdin",
        action="store_true",
        help="the principal of a token read from standard input (roles lapsed by its idle time "
        "show)",
    )
    sub.add_argument("--case-insensitive", action="store_true", help="match paths ignoring case")
    sub.add_argument("--exit-status", action="store_true", help="exit 1 when refused")


def _check(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    token = read_token() if args.token_stdin else None
    if token is not None and token.count(".") == 2:  # a JWT: an identity provider's
        _check_provider_token(realm, token, args, out)
        return
    principal = realm.authenticate_token(token) if token is not None else _principal(realm, args)
    explained = realm.explain(
        principal,
        args.method,
        args.path,
        org=args.org,
        app=args.app,
        case_sensitive=not args.case_insensitive,
    )
    out.record(_answer(principal, explained))
    if args.exit_status and not explained.allowed:
        raise SystemExit(1)


def _check_provider_token(
    realm: Realm, token: str, args: argparse.Namespace, out: Output
) -> None:
    """Which provider, which checks passed (and which refused), whom the token stands for,
    how that was found, and the rule that decides."""
    checked = realm.check_provider_token(
        token, args.method, args.path, org=args.org, app=args.app,
        case_sensitive=not args.case_insensitive,
    )
    answer: dict[str, object] = {
        "issuer": checked.issuer,
        "provider": checked.provider,
        "checks passed": list(checked.passed),
    }
    if checked.principal is not None:
        answer["found as"] = f"{checked.found_as}: {checked.principal.display_name}"
    if checked.refused is not None:
        answer.update({"allowed": False, "refused": checked.refused})
    if checked.principal is not None and checked.explanation is not None:
        answer.update(_answer(checked.principal, checked.explanation))
    out.record(answer)
    allowed = checked.explanation is not None and checked.explanation.allowed
    if args.exit_status and not allowed:
        raise SystemExit(1)


def _principal(realm: Realm, args: argparse.Namespace) -> Principal:
    if args.user is not None:
        user = realm.get_user(args.org, args.app, args.user)
        app = realm.get_app(args.org, args.app)
        return Principal(
            kind="app_user", org=app.org, app=app.name, uuid=user.uuid, username=user.username
        )
    if args.client is not None:
        client = next(
            (c for c in realm.list_credentials(args.org) if c.client_id == args.client), None
        )
        if client is None:
            raise NotFoundError(f"no client_id {args.client!r} in the organization {args.org}")
        kind: PrincipalKind = "org_client" if client.app is None else "app_client"
        return Principal(
            kind=kind,
            org=client.org,
            app=client.app,
            uuid=client.client_id,
            username=client.client_id,
        )
    if args.admin is not None:
        admin = realm.get_admin(args.admin)
        return Principal(
            kind="admin_user", uuid=admin.uuid, username=admin.username, orgs=frozenset(admin.orgs)
        )
    return realm.guest(args.org, args.app)


def _answer(principal: Principal, explained: Explanation) -> dict[str, object]:
    answer: dict[str, object] = {
        "allowed": explained.allowed,
        "reason": explained.reason,
        "principal": f"{principal.kind} {principal.display_name}",
        "verb": explained.verb,
        "rule": explained.rule,
        "source": explained.source,
    }
    if explained.matching:
        answer["matching"] = [f"{r.rule}  ({r.source})" for r in explained.matching]
    if not explained.allowed:
        answer["considered"] = [f"{r.rule}  ({r.source})" for r in explained.considered]
    if explained.lapsed:
        answer["lapsed"] = list(explained.lapsed)
    if explained.reason == _NO_RULE and principal.is_authenticated:
        answer["route_guard"] = _ROUTE_GUARD_NOTE
    return answer
