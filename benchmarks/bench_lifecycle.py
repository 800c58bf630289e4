"""Cost of the token lifecycle (behaviour §9): a refresh beside a password grant minus its KDF,
and introspecting a valid token over HTTP beside admitting a protected request and rendering
its answer, with Authlib's introspection endpoint beside them when Authlib and Flask are there.

    PYTHONPATH=. python benchmarks/bench_lifecycle.py [--quick] [--json out.json]

The grants use the lowered scrypt cost (``FAST_HASHER``); the KDF's own time is measured in the
same run (``PasswordHasher.verify``) so that it can be taken away. The refresh row refreshes one
family again and again (each refresh spends the token the previous one answered), so it also
shows what a long family costs. The HTTP rows are in-process WSGI calls (no server, no socket).
"""

from __future__ import annotations

import base64
import io
import json
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from _realms import FAST_HASHER, PASSWORD, seeded
from _timing import Report, Settings, cli, measure, repeat, result

from baas_auth import Realm
from baas_auth.wsgi import AuthMiddleware

DAY_MS = 86_400_000


class SanityError(RuntimeError):
    """A call answered wrongly; its timing would measure a broken path."""


def _add(
    report: Report, name: str, call: Callable[[], object], settings: Settings, **params: object
) -> None:
    report.add(result("lifecycle", name, measure(repeat(call), settings), **params))


# -- a refresh beside a password grant --------------------------------------------------------


def grant_rows(kind: str, settings: Settings, report: Report) -> None:
    realm = seeded(kind).realm
    stored = FAST_HASHER.hash(PASSWORD)
    _add(report, "PasswordHasher.verify, lowered test hasher (the grant's KDF)",
         lambda: FAST_HASHER.verify(stored, PASSWORD), settings, store="none")  # fmt: skip
    grant = lambda: realm.password_token("acme", "shop", "alice", PASSWORD)  # noqa: E731
    _add(report, f"Realm.password_token, refresh tokens off, {kind} store", grant, settings,
         store=kind)  # fmt: skip
    realm.set_refresh_token_ttl("acme", "shop", 30 * DAY_MS)
    if grant().refresh_token is None:
        raise SanityError("no refresh token with refresh tokens on")
    _add(report, f"Realm.password_token, refresh tokens on, {kind} store", grant, settings,
         store=kind)  # fmt: skip
    _add(report, f"Realm.refresh_token, the next refresh of one family, {kind} store",
         _refreshing(realm), settings, store=kind)  # fmt: skip


def _refreshing(realm: Realm) -> Callable[[], object]:
    latest = [realm.password_token("acme", "shop", "alice", PASSWORD).refresh_token]

    def refresh() -> None:
        token = latest[0]
        assert token is not None
        latest[0] = realm.refresh_token("acme", "shop", token).refresh_token

    return refresh


# -- introspection beside a protected request --------------------------------------------------


def _inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The wrapped app: renders who is asking, as an introspection answer would."""
    principal = environ["baas_auth.principal"]
    body = json.dumps({"active": True, "sub": principal.uuid, "username": principal.username})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


def _environ(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "bench",
        "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
        "wsgi.errors": sys.stderr,
    }  # fmt: skip
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(app: Any, make: Callable[[], dict[str, Any]]) -> Callable[[], tuple[str, bytes]]:
    def call() -> tuple[str, bytes]:
        status: list[str] = []
        chunks = app(make(), lambda s, h, e=None: status.append(s))
        return status[0], b"".join(chunks)

    return call


def http_rows(kind: str, settings: Settings, report: Report) -> None:
    seed = seeded(kind)
    realm = seed.realm
    creds = realm.create_credentials("acme", "shop")
    pair = f"{creds.client_id}:{creds.client_secret}".encode()
    client = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    app = AuthMiddleware(_inner, realm)
    form = f"token={seed.token}".encode()
    introspect = _call(app, lambda: _environ("POST", "/acme/shop/introspect", client, form))
    protected = _call(
        app, lambda: _environ("GET", "/acme/shop/books", {"Authorization": f"Bearer {seed.token}"})
    )
    status, body = introspect()
    if not status.startswith("200") or not json.loads(body)["active"]:
        raise SanityError(f"introspection answered {status} {body!r}")
    status, body = protected()
    if not status.startswith("200") or b"alice" not in body:
        raise SanityError(f"the protected request answered {status}")
    _add(report, f"POST /acme/shop/introspect, valid token, client_secret_basic, {kind} store",
         introspect, settings, store=kind)  # fmt: skip
    _add(report, f"GET a protected path, same token, answer rendered by the app, {kind} store",
         protected, settings, store=kind)  # fmt: skip


def authlib_rows(settings: Settings, report: Report) -> None:
    """Authlib's RFC 7662 endpoint on Flask, its token looked up in a dict (no store at all):
    what the library's own request handling and answer cost."""
    try:
        from authlib.integrations.flask_oauth2 import AuthorizationServer
        from authlib.oauth2.rfc7662 import IntrospectionEndpoint
        from flask import Flask
    except ImportError as missing:
        report.notes.append(f"lifecycle: Authlib's row skipped ({missing.name} is not installed)")
        return
    token = _AuthlibToken()
    app, endpoint = Flask("authlib-bench"), _authlib_endpoint(IntrospectionEndpoint, token)
    server = AuthorizationServer(app, query_client=_AuthlibClient.find, save_token=lambda *a: None)
    server.register_endpoint(endpoint)
    answer = lambda: server.create_endpoint_response("introspection")  # noqa: E731
    app.add_url_rule("/introspect", "introspect", methods=["POST"], view_func=answer)
    basic = {"Authorization": "Basic " + base64.b64encode(b"shop-client:secret").decode()}
    form = f"token={token.access_token}".encode()
    call = _call(app.wsgi_app, lambda: _environ("POST", "/introspect", basic, form))
    status, body = call()
    if not status.startswith("200") or not json.loads(body).get("active"):
        raise SanityError(f"Authlib's introspection answered {status} {body!r}")
    _add(report, "Authlib IntrospectionEndpoint on Flask, valid token (in a dict)", call, settings,
         store="dict")  # fmt: skip


class _AuthlibToken:
    """The one live token Authlib's endpoint knows."""

    access_token = "a" * 43
    client_id = "shop-client"
    sub = "alice"

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


class _AuthlibClient:
    """The one client Authlib's endpoint knows (client_secret_basic)."""

    client_id = "shop-client"

    @classmethod
    def find(cls, client_id: str) -> _AuthlibClient | None:
        return cls() if client_id == cls.client_id else None

    def check_client_secret(self, secret: str) -> bool:
        return secret == "secret"

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_token_endpoint_auth_method(self, method: str) -> bool:
        return method == "client_secret_basic"

    def get_client_id(self) -> str:
        return self.client_id


def _authlib_endpoint(base: Any, token: _AuthlibToken) -> Any:
    class Endpoint(base):  # type: ignore[misc, valid-type]
        CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

        def query_token(self, value: str, hint: str | None) -> _AuthlibToken | None:
            return token if value == token.access_token else None

        def introspect_token(self, found: _AuthlibToken) -> dict[str, object]:
            return {"active": True, "client_id": found.client_id, "sub": found.sub,
                    "token_type": "Bearer", "iss": "acme/shop"}  # fmt: skip

        def check_permission(self, found: _AuthlibToken, client: object, request: object) -> bool:
            return True

    return Endpoint()


def run(settings: Settings, report: Report) -> None:
    for kind in ("memory", "sqlite"):
        grant_rows(kind, settings, report)
        http_rows(kind, settings, report)
    authlib_rows(settings, report)


if __name__ == "__main__":
    cli(run)
