"""The commands for tokens and signing keys: issue, inspect and revoke tokens; rotate, list and
retire keys; collect expired token records."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from baas_auth.cli.output import Output, as_object
from baas_auth.cli.prompts import add_password_options, read_password, read_secret, read_token
from baas_auth.cli.registry import (
    Commands,
    add_org_app,
    add_refresh_ttl_arguments,
    refresh_sentence,
    where,
)
from baas_auth.errors import StoreError
from baas_auth.model import TokenGrant
from baas_auth.realm import Realm
from baas_auth.realm.keys import KeyDates

__all__ = ["register"]


def register(commands: Commands) -> None:
    _register_issuing(commands)
    _register_revoking(commands)
    _register_keys(commands)


def _ttl_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--ttl-ms", type=int, default=0, help="0: the longest allowed")


def _register_issuing(commands: Commands) -> None:
    sub = commands.add("token", _token, "issue an app-user token (password grant)")
    add_org_app(sub)
    sub.add_argument("username")
    _ttl_option(sub)
    add_password_options(sub)
    sub = commands.add("admin-token", _admin_token, "issue an admin-user token (password grant)")
    sub.add_argument("username")
    _ttl_option(sub)
    add_password_options(sub)
    text = "issue a client token (client_credentials grant)"
    sub = commands.add("client-token", _client_token, text)
    sub.add_argument("client_id")
    _ttl_option(sub)
    sub.add_argument(
        "--secret-stdin", action="store_true", help="read the client secret from standard input"
    )
    text = "introspect a token read from standard input (RFC 7662): active, whose, expiry"
    commands.add("token-info", _token_info, text)
    text = "switch admin users' refresh tokens on (MS: how long a family lives) or off (none)"
    sub = commands.add("set-admin-refresh-ttl", _set_admin_refresh_ttl, text)
    add_refresh_ttl_arguments(sub)
    text = "show the realm's refresh-token setting for admin users"
    commands.add("show-admin-refresh-ttl", _show_admin_refresh_ttl, text)


def _register_revoking(commands: Commands) -> None:
    commands.add("revoke-token", _revoke_token, "revoke one token, read from standard input")
    text = "revoke every token of an app user"
    sub = commands.add("revoke-user-tokens", _revoke_user_tokens, text)
    add_org_app(sub)
    sub.add_argument("username")
    text = "revoke every token of an admin user"
    sub = commands.add("revoke-admin-tokens", _revoke_admin_tokens, text)
    sub.add_argument("username")
    text = "collect expired token records now (housekeeping: validity never depends on it)"
    commands.add("purge-expired", _purge_expired, text)


def _register_keys(commands: Commands) -> None:
    text = "make a new current signing key (older tokens keep working)"
    commands.add("rotate-key", _rotate_key, text)
    commands.add("list-keys", _list_keys, "list the signing keys, the current one first")
    text = "retire a signing key: every token it signed stops working"
    sub = commands.add("retire-key", _retire_key, text)
    sub.add_argument("kid")


# -- issuing --------------------------------------------------------------------------------


def _token(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    password = read_password(args, confirm=False) or ""
    grant = realm.password_token(args.org, args.app, args.username, password, ttl_ms=args.ttl_ms)
    _show_token(out, grant)


def _admin_token(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    password = read_password(args, confirm=False) or ""
    _show_token(out, realm.admin_token(args.username, password, ttl_ms=args.ttl_ms))


def _client_token(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    secret = read_secret(args)
    _show_token(out, realm.client_token(args.client_id, secret, ttl_ms=args.ttl_ms))


def _show_token(out: Output, grant: TokenGrant) -> None:
    """The token alone on stdout (``TOKEN=$(baas-auth token …)``), its life on stderr; with
    ``--json``, the token endpoint's answer."""
    body: dict[str, object] = {"access_token": grant.access_token, "token_type": "Bearer"}
    if grant.expires_in is not None:
        body["expires_in"] = grant.expires_in
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    out.done(grant.access_token, body)
    if not out.json:
        life = "never expires" if grant.expires_in is None else f"expires in {grant.expires_in} s"
        print(f"a token of {grant.principal.display_name}; it {life}", file=sys.stderr)
        if grant.refresh_token is not None:
            print("a refresh token was issued too: --json shows it", file=sys.stderr)


def _token_info(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    """The introspection answer, in the tenant the token belongs to; ``{"active": false}``
    and nothing else (still status 0) for every inactive token, as the endpoint answers."""
    answer = realm.introspect_anywhere(read_token())
    if out.json or not answer.get("active"):
        out.record(answer)
        return
    shown = {name: value for name, value in answer.items() if name != "baas_auth"}
    shown["kind"] = _kind(answer)
    for name in ("iat", "exp"):
        value = shown.get(name)
        if isinstance(value, int):
            shown[name] = _when(value * 1000)
    if "exp" not in shown:
        shown["exp"] = "never"
    out.record(shown)


def _kind(answer: dict[str, object]) -> object:
    extension = answer.get("baas_auth")
    return extension.get("kind") if isinstance(extension, dict) else None


def _set_admin_refresh_ttl(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    settings = realm.set_admin_refresh_token_ttl(args.ttl, grace_ms=args.grace_ms)
    shown = refresh_sentence(settings.refresh_token_ttl_ms, settings.refresh_grace_ms)
    out.done(f"refresh tokens of admin users: {shown}", as_object(settings))


def _show_admin_refresh_ttl(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    out.record(as_object(realm.admin_refresh_settings()))


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


# -- revoking -------------------------------------------------------------------------------


def _revoke_token(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    changed = realm.revoke_token(read_token())
    out.done("revoked" if changed else "already revoked", {"revoked": changed})


def _revoke_user_tokens(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    count = realm.revoke_user_tokens(args.org, args.app, args.username)
    out.done(f"revoked {count} token(s) of {args.username} in {where(args)}", {"revoked": count})


def _revoke_admin_tokens(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    count = realm.revoke_admin_tokens(args.username)
    out.done(f"revoked {count} token(s) of admin user {args.username}", {"revoked": count})


def _purge_expired(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    count = realm.purge_expired()
    out.done(f"purged {count} expired token record(s)", {"purged": count})


# -- keys -----------------------------------------------------------------------------------


def _rotate_key(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    kid = realm.rotate_signing_key()
    out.done(f"new signing key: {kid}", {"kid": kid})


def _list_keys(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    ring = realm.keys
    if ring is None:  # the store did not answer when the realm was opened
        raise StoreError("the realm's signing keys could not be read")
    older = sorted(ring.kids - {ring.current.kid})
    ttl, current, as_json = _longest_lifetime_ms(realm), ring.current.kid, out.json
    rows = [
        _key_row(kid, ring.dates.get(kid, KeyDates()), ttl, current=kid == current, as_json=as_json)
        for kid in [current, *older]
    ]
    columns = ("kid", "current", "signing_since", "signing_until", "retire_after")
    out.table(rows, columns, empty="no signing keys")


def _longest_lifetime_ms(realm: Realm) -> int | None:
    """The longest a token can live: the realm's ceiling, or an app's longer `accesstokenttl`,
    or a longer refresh-token family's life (an app's or the admins'); None when an app's
    tokens never expire (`accesstokenttl` 0)."""
    apps = [app for org in realm.list_orgs() for app in realm.list_apps(org.name)]
    app_ttls = [app.access_token_ttl_ms for app in apps]
    if 0 in app_ttls:
        return None
    refresh_ttls = [app.refresh_token_ttl_ms for app in apps]
    refresh_ttls.append(realm.admin_refresh_settings().refresh_token_ttl_ms)
    lives = [*app_ttls, *refresh_ttls]  # a refresh token lives as long as its family
    return max([realm.max_token_ttl_ms, *(ttl for ttl in lives if ttl is not None)])


def _key_row(
    kid: str, when: KeyDates, longest_ttl_ms: int | None, *, current: bool, as_json: bool
) -> dict[str, object]:
    """A key, when it signed, and from when no token it signed can still be live (its last
    moment of signing plus the longest token lifetime): then it can be retired. None: not
    known (a key stored before dates were kept), or never (an app's tokens never expire)."""
    until = when.until_ms
    retire_after = None if until is None or longest_ttl_ms is None else until + longest_ttl_ms
    moments = {"since_ms": when.since_ms, "until_ms": until, "retire_after_ms": retire_after}
    if as_json:
        return {"kid": kid, "current": current, **moments}
    shown = {name: "-" if ms is None else _when(ms) for name, ms in moments.items()}
    return {
        "kid": kid,
        "current": current,
        "signing_since": shown["since_ms"],
        "signing_until": "now" if current else shown["until_ms"],
        "retire_after": shown["retire_after_ms"],
    }


def _retire_key(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    realm.retire_signing_key(args.kid)
    out.done(f"retired signing key {args.kid}", {"retired": args.kid})
