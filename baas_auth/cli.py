"""The ``baas-auth`` command line: a local demo server, and the administration of a realm.

``baas-auth demo`` serves a wrapped example API on an embedded SQLite realm; every other
subcommand changes the realm named by ``--realm`` (default ``$BAAS_REALM``, else
``sqlite:///baas.db``). Errors print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import re
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote_plus
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from baas_auth import __version__
from baas_auth.errors import BaasAuthError, ConflictError, NotFoundError
from baas_auth.model import ClientCredentials, Principal, TokenGrant
from baas_auth.names import SECRET_PARAMS
from baas_auth.realm import Realm
from baas_auth.realm.directory import RolesPreset
from baas_auth.wsgi import AuthMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["main", "redact_query"]

DEFAULT_REALM = "sqlite:///baas.db"
DEMO_REALM = "sqlite:///baas-demo.db"
DEMO_ORG, DEMO_APP, DEMO_USER = "acme", "shop", "alice"
DEMO_RULE = "get:/books/**"
DEMO_PASSWORD = "demo-password-not-secret"  # noqa: S105 - printed on screen on purpose
_DEMO_CLIENT_RECORD = "demo:client_id"  # which app credentials a rerun of the demo regenerates
_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")
_EXIT_ERROR = 2

Handler = Callable[[Realm, argparse.Namespace], None]


class CommandError(Exception):
    """A mistake on the command line that argparse cannot see (an empty password, …)."""


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``baas-auth`` command; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args.realm or DEMO_REALM, args.host, args.port)
        _run_admin(args)
    except (BaasAuthError, CommandError) as error:
        print(f"baas-auth: error: {_one_line(error)}", file=sys.stderr)
        return _EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    return 0


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _run_admin(args: argparse.Namespace) -> None:
    realm = open_realm(args.realm or os.environ.get("BAAS_REALM") or DEFAULT_REALM)
    try:
        args.handler(realm, args)
    finally:
        realm.close()


def open_realm(url: str) -> Realm:
    """The realm a command works on (tests replace this to lower the password-hashing cost)."""
    return Realm.open(url)


# -- the parser -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baas-auth",
        description="Serve a demo, or administer a baas_auth realm.",
        epilog="The realm is --realm URL, else $BAAS_REALM, else sqlite:///baas.db "
        "(memory:, sqlite:///relative.db, sqlite:////absolute.db, redis://host:6379/0).",
    )
    parser.add_argument("--version", action="version", version=f"baas-auth {__version__}")
    parser.add_argument("--realm", metavar="URL", help="the realm's store URL")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: --realm may stand before or after the subcommand without one hiding the other.
    common.add_argument("--realm", metavar="URL", default=argparse.SUPPRESS, help="store URL")
    _add_demo(commands, common)
    for add in (_add_directory_commands, _add_rule_commands, _add_token_commands):
        add(commands, common)
    return parser


Commands = Any  # argparse's private _SubParsersAction


def _command(
    commands: Commands, common: argparse.ArgumentParser, name: str, handler: Handler, text: str
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(
        name, parents=[common], help=text, description=text
    )
    sub.set_defaults(handler=handler)
    return sub


def _add_demo(commands: Commands, common: argparse.ArgumentParser) -> None:
    text = "serve a wrapped example API on localhost and print curl commands to try"
    demo = commands.add_parser("demo", parents=[common], help=text, description=text)
    demo.add_argument("--host", default="127.0.0.1", type=_host, help="default 127.0.0.1")
    demo.add_argument("--port", default=8000, type=int, help="default 8000; 0 picks a free one")


def _host(text: str) -> str:
    if not _HOST.fullmatch(text):
        raise argparse.ArgumentTypeError("a host name or an IP address")
    return text


def _add_directory_commands(commands: Commands, common: argparse.ArgumentParser) -> None:
    sub = _command(commands, common, "create-org", _create_org, "create an organization")
    sub.add_argument("name")
    sub = _command(commands, common, "create-app", _create_app, "create an application")
    sub.add_argument("org")
    sub.add_argument("app")
    sub.add_argument(
        "--roles",
        choices=("locked", "usergrid", "sandbox"),
        default="locked",
        help="locked (default): its roles start with no rules; usergrid: the original "
        "system's rules (signed-in users may do anything); sandbox: open to everyone",
    )
    # 0.1 spelled the (then optional) least-privilege start this way; it is now the default.
    sub.add_argument(
        "--locked", action="store_const", const="locked", dest="roles", help=argparse.SUPPRESS
    )
    sub.add_argument("--ttl-ms", type=int, help="its accesstokenttl (0: tokens never expire)")
    text = "create org credentials, or app credentials with APP; prints the secret once"
    sub = _command(commands, common, "create-credentials", _create_credentials, text)
    sub.add_argument("org")
    sub.add_argument("app", nargs="?")
    text = "give a client_id a new secret (its tokens stop working); prints it once"
    sub = _command(commands, common, "regenerate-credentials", _regenerate, text)
    sub.add_argument("client_id")
    sub = _command(commands, common, "create-user", _create_user, "create an app user")
    _org_app(sub)
    sub.add_argument("username")
    sub.add_argument("--email")
    _password_option(sub)
    sub = _command(commands, common, "create-admin", _create_admin, "create an admin user")
    sub.add_argument("username")
    sub.add_argument("--org", action="append", default=[], help="an org it administers")
    _password_option(sub)


def _add_rule_commands(commands: Commands, common: argparse.ArgumentParser) -> None:
    sub = _command(commands, common, "create-role", _create_role, "create a role")
    _org_app(sub)
    sub.add_argument("name")
    sub.add_argument("--inactivity-ms", type=int, default=0, help="0: it never lapses")
    for name, handler in (("grant", _grant), ("revoke-grant", _revoke_grant)):
        text = "grant a rule such as get,put:/books/**" if name == "grant" else "take a rule back"
        sub = _command(commands, common, name, handler, text)
        _org_app(sub)
        sub.add_argument("rule")
        _target(sub, ("role", "user", "group"))
    sub = _command(commands, common, "assign-role", _assign_role, "give a role")
    _org_app(sub)
    sub.add_argument("role")
    _target(sub, ("user", "group"))
    sub = _command(commands, common, "create-group", _create_group, "create a group")
    _org_app(sub)
    sub.add_argument("path", help="such as /staff")
    sub = _command(commands, common, "add-to-group", _add_to_group, "add a user to a group")
    _org_app(sub)
    sub.add_argument("path")
    sub.add_argument("username")


def _add_token_commands(commands: Commands, common: argparse.ArgumentParser) -> None:
    sub = _command(commands, common, "token", _token, "issue an app-user token (JSON)")
    _org_app(sub)
    sub.add_argument("username")
    sub.add_argument("--ttl-ms", type=int, default=0, help="0: the longest allowed")
    _password_option(sub)
    text = "revoke every token of an app user"
    sub = _command(commands, common, "revoke-user-tokens", _revoke_user_tokens, text)
    _org_app(sub)
    sub.add_argument("username")
    text = "revoke one token, read from stdin"
    _command(commands, common, "revoke-token", _revoke_token, text)
    text = "set an app's accesstokenttl: MS (0: its user tokens never expire) or none"
    sub = _command(commands, common, "ttl", _set_ttl, text)
    _org_app(sub)
    sub.add_argument("ttl", metavar="MS|none", type=_ttl_value)
    text = "make a new current signing key (older tokens keep working)"
    _command(commands, common, "rotate-key", _rotate_key, text)


def _org_app(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("org")
    sub.add_argument("app")


def _password_option(sub: argparse.ArgumentParser) -> None:
    # Never from argv: a command line is visible to every user of the machine and kept in history.
    sub.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def _target(sub: argparse.ArgumentParser, kinds: tuple[str, ...]) -> None:
    group = sub.add_mutually_exclusive_group(required=True)
    for kind in kinds:
        group.add_argument(f"--{kind}", dest=f"to_{kind}", metavar=kind.upper())
    sub.set_defaults(target_kinds=kinds)


def _ttl_value(text: str) -> int | None:
    if text.lower() == "none":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError("milliseconds (0: never expire) or 'none'")
    return int(text)


# -- reading secrets ----------------------------------------------------------------------------


def _read_password(args: argparse.Namespace, *, confirm: bool) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")  # spaces may belong to a password
    else:
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password (again): ") != password:
            raise CommandError("the two passwords differ")
    if not password:
        raise CommandError("the password is empty")
    return password


def _read_token() -> str:
    token = getpass.getpass("Token: ") if sys.stdin.isatty() else sys.stdin.readline()
    token = token.strip()
    if not token:
        raise CommandError("no token on stdin")
    return token


# -- admin commands -----------------------------------------------------------------------------


def _create_org(realm: Realm, args: argparse.Namespace) -> None:
    org = realm.create_org(args.name)
    print(f"created organization {org.name} ({org.uuid}) and its app {org.name}/sandbox")


def _create_app(realm: Realm, args: argparse.Namespace) -> None:
    roles: RolesPreset = args.roles
    app = realm.create_app(args.org, args.app, roles=roles, access_token_ttl_ms=args.ttl_ms)
    print(f"created application {app.full_name} ({app.uuid})")


def _create_credentials(realm: Realm, args: argparse.Namespace) -> None:
    _print_credentials(realm.create_credentials(args.org, args.app))


def _regenerate(realm: Realm, args: argparse.Namespace) -> None:
    _print_credentials(realm.regenerate_credentials(args.client_id))


def _print_credentials(creds: ClientCredentials) -> None:
    owner = {"organization": creds.org, "application": creds.app}
    print(json.dumps({"client_id": creds.client_id, "client_secret": creds.client_secret, **owner}))
    print("Keep the client_secret now: it is never shown again.", file=sys.stderr)


def _create_user(realm: Realm, args: argparse.Namespace) -> None:
    password = _read_password(args, confirm=True)
    user = realm.create_user(args.org, args.app, args.username, password=password, email=args.email)
    print(f"created user {user.username} ({user.uuid}) in {args.org}/{args.app}")


def _create_admin(realm: Realm, args: argparse.Namespace) -> None:
    password = _read_password(args, confirm=True)
    admin = realm.create_admin(args.username, password=password, orgs=args.org)
    orgs = ", ".join(admin.orgs) or "no organization"
    print(f"created admin user {admin.username} ({admin.uuid}), admin of {orgs}")


def _set_ttl(realm: Realm, args: argparse.Namespace) -> None:
    app = realm.set_access_token_ttl(args.org, args.app, args.ttl)
    shown = "removed" if app.access_token_ttl_ms is None else f"{app.access_token_ttl_ms} ms"
    print(f"accesstokenttl of {app.full_name}: {shown}")


def _create_role(realm: Realm, args: argparse.Namespace) -> None:
    role = realm.create_role(args.org, args.app, args.name, inactivity_ms=args.inactivity_ms)
    print(f"created role {role.name} in {args.org}/{args.app}")


def _target_of(args: argparse.Namespace) -> dict[str, str | None]:
    """The one ``--role``/``--user``/``--group`` given, as the keyword the Realm takes."""
    given = {kind: getattr(args, f"to_{kind}") for kind in args.target_kinds}
    return {kind: name for kind, name in given.items() if name is not None}


def _describe_target(args: argparse.Namespace) -> str:
    kind, name = next(iter(_target_of(args).items()))
    return f"{kind} {name} in {args.org}/{args.app}"


def _grant(realm: Realm, args: argparse.Namespace) -> None:
    rule = realm.grant(args.org, args.app, args.rule, **_target_of(args))
    print(f"granted {rule} to {_describe_target(args)}")


def _revoke_grant(realm: Realm, args: argparse.Namespace) -> None:
    if realm.revoke_grant(args.org, args.app, args.rule, **_target_of(args)):
        print(f"revoked {args.rule} from {_describe_target(args)}")
    else:
        print(f"{_describe_target(args)} did not hold {args.rule}")


def _assign_role(realm: Realm, args: argparse.Namespace) -> None:
    realm.assign_role(args.org, args.app, args.role, **_target_of(args))
    print(f"assigned role {args.role} to {_describe_target(args)}")


def _create_group(realm: Realm, args: argparse.Namespace) -> None:
    group = realm.create_group(args.org, args.app, args.path)
    print(f"created group {group.path} in {args.org}/{args.app}")


def _add_to_group(realm: Realm, args: argparse.Namespace) -> None:
    realm.add_to_group(args.org, args.app, args.path, args.username)
    print(f"added {args.username} to {args.path} in {args.org}/{args.app}")


def _token(realm: Realm, args: argparse.Namespace) -> None:
    password = _read_password(args, confirm=False)
    grant = realm.password_token(args.org, args.app, args.username, password, ttl_ms=args.ttl_ms)
    print(json.dumps(_token_json(grant)))


def _token_json(grant: TokenGrant) -> dict[str, object]:
    body: dict[str, object] = {"access_token": grant.access_token, "token_type": "Bearer"}
    if grant.expires_in is not None:
        body["expires_in"] = grant.expires_in
    return body


def _revoke_user_tokens(realm: Realm, args: argparse.Namespace) -> None:
    count = realm.revoke_user_tokens(args.org, args.app, args.username)
    print(f"revoked {count} token(s) of {args.username} in {args.org}/{args.app}")


def _revoke_token(realm: Realm, args: argparse.Namespace) -> None:
    print("revoked" if realm.revoke_token(_read_token()) else "already revoked")


def _rotate_key(realm: Realm, args: argparse.Namespace) -> None:
    print(f"new signing key: {realm.rotate_signing_key()}")


# -- the demo -----------------------------------------------------------------------------------


def run_demo(url: str, host: str, port: int) -> int:
    """Seed the demo realm, serve the wrapped example API until Ctrl-C; returns the exit status."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly as on Ctrl-C
    realm = Realm.open(url)
    try:
        creds = seed_demo(realm)
        server = _make_server(host, port, AuthMiddleware(demo_api, realm))
        # From the first printed line on, Ctrl-C is the normal way out.
        with server, contextlib.suppress(KeyboardInterrupt):
            base = _base_url(host, server.server_address[1])
            print(demo_banner(url, base, creds), flush=True)
            server.serve_forever()
    finally:
        realm.close()
    print("Stopped.", flush=True)
    return 0


def seed_demo(realm: Realm) -> ClientCredentials:
    """Create what the demo needs, reusing what a previous run made; new app credentials."""
    _unless_exists(lambda: realm.create_org(DEMO_ORG))
    _unless_exists(lambda: realm.create_app(DEMO_ORG, DEMO_APP))
    _set_demo_rules(realm)
    try:
        realm.create_user(
            DEMO_ORG, DEMO_APP, DEMO_USER, password=DEMO_PASSWORD, email="alice@example.com"
        )
    except ConflictError:  # a rerun: make sure the printed password works
        realm.update_user(
            DEMO_ORG, DEMO_APP, DEMO_USER, password=DEMO_PASSWORD, disabled=False, activated=True
        )
    return _demo_credentials(realm)


def _set_demo_rules(realm: Realm) -> None:
    """The shop's roles as the banner describes them, whatever an earlier run left."""
    for role in ("default", "guest"):
        for rule in realm.get_role(DEMO_ORG, DEMO_APP, role).rules:
            realm.revoke_grant(DEMO_ORG, DEMO_APP, rule, role=role)
    realm.grant(DEMO_ORG, DEMO_APP, DEMO_RULE, role="default")


def _unless_exists(create: Callable[[], object]) -> None:
    with contextlib.suppress(ConflictError):
        create()


def _demo_credentials(realm: Realm) -> ClientCredentials:
    # A secret is shown only when made, so a rerun gives the same client_id a new one.
    stored = realm.store.get(_DEMO_CLIENT_RECORD)
    if stored is not None:
        try:
            return realm.regenerate_credentials(stored.decode("utf-8"))
        except NotFoundError:
            pass
    creds = realm.create_credentials(DEMO_ORG, DEMO_APP)
    realm.store.put(_DEMO_CLIENT_RECORD, creds.client_id.encode("utf-8"))
    return creds


def demo_api(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The example API behind the middleware: it answers who called which path."""
    principal = environ.get("baas_auth.principal")
    payload = {
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "principal": _principal_json(principal),
    }
    body = json.dumps(payload, indent=2).encode("utf-8") + b"\n"
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _principal_json(principal: Principal | None) -> dict[str, object] | None:
    if principal is None:
        return None
    return {
        "kind": principal.kind,
        "org": principal.org,
        "app": principal.app,
        "username": principal.username,
        "authenticated": principal.is_authenticated,
    }


def demo_banner(url: str, base: str, creds: ClientCredentials) -> str:
    """What the demo prints before serving: the seeded names and the curl commands to try."""
    shop = f"{base}/{DEMO_ORG}/{DEMO_APP}"
    lines = [
        f"baas-auth demo: an example API wrapped by baas_auth, realm {url}",
        "",
        f"  organization {DEMO_ORG}, application {DEMO_APP}, and {DEMO_ORG}/sandbox (open)",
        "  rules:         a new app's roles have none (a signed-in user may only read its own",
        f"                 entity); the demo grants the default role {DEMO_RULE}",
        f"  user:          {DEMO_USER}",
        f"  password:      {DEMO_PASSWORD}   (a demo password, known to everyone)",
        f"  client_id:     {creds.client_id}",
        f"  client_secret: {creds.client_secret}   (new on every run of the demo)",
        "",
        "Try it (paste into a shell, in order):",
        "",
        *_demo_commands(base, shop, creds),
        "",
        f"Serving on {base}  (Ctrl-C to stop)",
    ]
    return "\n".join(lines)


def _demo_commands(base: str, shop: str, creds: ClientCredentials) -> list[str]:
    bearer = '-H "Authorization: Bearer $TOKEN"'
    # The token answer is one line of JSON; sed keeps the command free of other tools.
    extract = r"""sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p'"""
    password_form = _form(grant_type="password", username=DEMO_USER, password=DEMO_PASSWORD)
    client_form = _form(
        grant_type="client_credentials",
        client_id=creds.client_id,
        client_secret=creds.client_secret,
    )
    steps = [
        (
            "1. The sandbox app lets anyone in: expect 200",
            f"curl -i {base}/{DEMO_ORG}/sandbox/books",
        ),
        (
            "2. The shop app refuses a request without credentials: expect 401",
            f"curl -i {shop}/books",
        ),
        (
            "3. Get a token for alice (password grant) into $TOKEN",
            f'TOKEN=$(curl -s {shop}/token {password_form} | {extract}); echo "$TOKEN"',
        ),
        ("4. Use it to read books: expect 200", f"curl -i {bearer} {shop}/books"),
        (
            "5. Adding a book is not in alice's rules: expect 403",
            f"curl -i -X POST {bearer} {shop}/books -d title=Dune",
        ),
        (
            "6. Revoke the token (its owner may): expect 200",
            f'curl -i -X PUT {bearer} "{shop}/users/me/revoketoken?token=$TOKEN"',
        ),
        ("7. Use it again: expect 401", f"curl -i {bearer} {shop}/books"),
        (
            "8. A server-side client gets a token with the app's client credentials",
            f"curl -s {shop}/token {client_form}",
        ),
    ]
    return [line for comment, command in steps for line in (f"  # {comment}", f"  {command}")]


def _form(**fields: str) -> str:
    return " ".join(f"-d {shlex.quote(f'{name}={value}')}" for name, value in fields.items())


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# -- the demo server --------------------------------------------------------------------------


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # Ctrl-C does not wait for open connections


class _IPv6Server(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _RedactingHandler(WSGIRequestHandler):
    """wsgiref's handler with a request log that never shows a credential."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self, "command", None) is None or not hasattr(self, "path"):
            self._log_refusal(code)  # the request line did not parse
            return
        path, mark, query = self.path.partition("?")
        shown = path + mark + redact_query(query) if mark else path
        self._log(f'"{self.command} {shown}" {code}')

    def log_message(self, format: str, *args: Any) -> None:
        # Only error messages come here, and they quote the raw request line, which may carry a
        # credential. Every answer, errors included, is logged by log_request instead.
        return

    def _log_refusal(self, code: int | str) -> None:
        self._log(f"refused a request the server could not parse ({code})")

    def _log(self, text: str) -> None:
        when = self.log_date_time_string()
        sys.stderr.write(f"{self.address_string()} - [{when}] {_printable(text)}\n")
        sys.stderr.flush()


def redact_query(query: str) -> str:
    """``query`` with the values of the secret parameters (``baas_auth.names.SECRET_PARAMS``)
    replaced by ``***``; every other part unchanged."""
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        secret = unquote_plus(name).strip().lower() in SECRET_PARAMS
        parts.append(f"{name}=***" if secret else part)
    return "&".join(parts)


def _printable(text: str) -> str:
    # A request line may hold control characters: escape them so a log line stays one line.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _make_server(host: str, port: int, app: WSGIApplication) -> _ThreadingWSGIServer:
    kind = _IPv6Server if ":" in host else _ThreadingWSGIServer
    try:
        server = kind((host, port), _RedactingHandler)
    except OSError as error:
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    server.set_app(app)
    return server


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt
