"""``baas-auth demo``: seed a demo realm, then serve a wrapped example API on localhost and print
ready-to-run curl commands."""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from baas_auth.cli.demo_server import interrupt, make_server
from baas_auth.errors import ConflictError, NotFoundError
from baas_auth.model import ClientCredentials, Principal
from baas_auth.realm import Realm
from baas_auth.wsgi import AuthMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEMO_PASSWORD", "DEMO_REALM", "demo_api", "demo_banner", "run_demo", "seed_demo"]

DEMO_REALM = "sqlite:///baas-demo.db"
DEMO_ORG, DEMO_APP, DEMO_USER = "acme", "shop", "alice"
DEMO_RULE = "get:/books/**"
DEMO_PASSWORD = "demo-password-not-secret"  # noqa: S105 - printed on screen on purpose
_DEMO_CLIENT_RECORD = "demo:client_id"  # which app credentials a rerun of the demo regenerates


def run_demo(url: str, host: str, port: int) -> int:
    """Seed the demo realm, serve the wrapped example API until Ctrl-C; returns the exit status."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)  # stop as cleanly as on Ctrl-C
    realm = Realm.open(url, create=True)  # the demo makes its realm file when missing
    try:
        creds = seed_demo(realm)
        server = make_server(host, port, AuthMiddleware(demo_api, realm))
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

