"""A real OpenID Connect provider on loopback, built from Authlib's authorization server (a
package no one here wrote): Flask serves its discovery document, its JWKS and a token endpoint
whose password grant issues RFC 9068 JWT access tokens (Authlib's ``JWTBearerTokenGenerator``,
signed by joserfc). ``rotate()`` does what a provider does when it rotates: a new key signs, and
the key set it publishes holds the new key and (until it is dropped) the old one."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask, jsonify
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import BaseWSGIServer, make_server

CLIENT_ID, CLIENT_SECRET = "shop-frontend", "frontend-secret"
AUDIENCE = "shop-api"


class _Client(ClientMixin):  # type: ignore[misc]
    """The one registered client: confidential, password grant, secret in Basic auth."""

    def get_client_id(self) -> str:
        return CLIENT_ID

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret, CLIENT_SECRET)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "password"


class _User:
    def __init__(self, name: str, roles: list[str], groups: list[str]) -> None:
        self.name, self.roles, self.groups = name, roles, groups

    def get_user_id(self) -> str:
        return self.name


class OIDCProvider:
    """The provider: its users, its signing keys, and the Flask app that serves it."""

    def __init__(self) -> None:
        self.users: dict[str, tuple[str, _User]] = {}
        self.signing = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
        self.published: list[RSAKey] = [self.signing]
        self.issuer = ""  # set once the server has a port
        self.jwks_hits = 0
        self.app = self._build()

    def add_user(self, name: str, password: str, roles: list[str] = [],  # noqa: B006
                 groups: list[str] = []) -> None:  # noqa: B006
        self.users[name] = (password, _User(name, list(roles), list(groups)))

    def rotate(self, *, keep_old: bool = True) -> None:
        """A new key signs from now on; the old one stays published only with ``keep_old``."""
        fresh = RSAKey.generate_key(2048, parameters={"kid": f"key-{len(self.published) + 1}"})
        self.published = [*self.published, fresh] if keep_old else [fresh]
        self.signing = fresh

    def _build(self) -> Flask:
        app = Flask("oidc-provider")
        provider = self

        class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic",)

            def authenticate_user(self, username: str, password: str) -> _User | None:
                found = provider.users.get(username)
                if found is None or not hmac.compare_digest(found[0], password):
                    return None
                return found[1]

        class Tokens(JWTBearerTokenGenerator):  # type: ignore[misc]
            def get_jwks(self) -> KeySet:
                return KeySet([provider.signing])

            def get_audiences(self, client: Any, user: Any, scope: Any) -> str:
                return AUDIENCE

            def get_extra_claims(self, client: Any, grant_type: str, user: Any,
                                 scope: Any) -> dict[str, object]:
                return {"preferred_username": user.name, "roles": user.roles,
                        "groups": user.groups}

        server = AuthorizationServer(
            app, query_client=lambda client_id: _Client() if client_id == CLIENT_ID else None,
            save_token=lambda token, request: None,
        )
        server.register_grant(PasswordGrant)
        server.register_token_generator("default", Tokens(issuer="later"))

        @app.post("/token")
        def token() -> Any:
            server._token_generators["default"].issuer = provider.issuer
            return server.create_token_response()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(
                issuer=provider.issuer,
                jwks_uri=f"{provider.issuer}/jwks",
                token_endpoint=f"{provider.issuer}/token",
                grant_types_supported=["password"],
                token_endpoint_auth_methods_supported=["client_secret_basic"],
                id_token_signing_alg_values_supported=["RS256"],
                response_types_supported=["token"],
                subject_types_supported=["public"],
            )

        @app.get("/jwks")
        def jwks() -> Any:
            provider.jwks_hits += 1
            return jsonify(keys=[key.as_dict(private=False) for key in provider.published])

        return app


@contextmanager
def running_provider() -> Iterator[OIDCProvider]:
    """The provider served on a free loopback port (werkzeug, in a thread) until the block ends."""
    provider = OIDCProvider()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, provider.app, threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
