"""The apps measured beside baas_auth: bare apps, reference bearer middlewares, and the peers.

Every peer looks tokens up in the same dict of 1,001 tokens; a peer whose package is missing is
skipped (``missing`` lists it) so the baas_auth figures can still be taken.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = [
    "PEER_TOKEN",
    "Case",
    "asgi_peers",
    "bare_asgi",
    "bare_wsgi",
    "starlette_dict_backend",
    "wsgi_peers",
]

TOKENS = {f"tok-{i}": f"user{i}" for i in range(1001)}
PEER_TOKEN = "Bearer tok-123"
UNKNOWN_TOKEN = "Bearer tok-unknown"
FLASK_PLAIN = "Flask, plain route"
FASTAPI_PLAIN = "FastAPI app, plain route"
_OK_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]
_REFUSED = [(b"www-authenticate", b"Bearer"), (b"content-length", b"0")]


@dataclass(frozen=True, slots=True)
class Case:
    """One measured app: its request's Authorization value and the status it must answer."""

    name: str
    library: str
    app: Any
    authorization: str | None
    status: int
    relative_to: str | None = None
    """The plain-framework row this one is also compared with (Flask, FastAPI)."""
    paths: tuple[str, ...] = ("/users/me",)
    """Paths the calls cycle through (one: every call is the same request)."""
    tokens: tuple[str, ...] = ()
    """Bearer tokens the calls cycle through instead of ``authorization``."""

    def requests(self) -> list[tuple[str, str | None]]:
        """The ``(path, authorization)`` of each distinct request, in the order they are sent."""
        if self.tokens:
            return [(self.paths[0], f"Bearer {token}") for token in self.tokens]
        return [(path, self.authorization) for path in self.paths]


def dist(name: str) -> str:
    """``name version`` of an installed distribution."""
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return name


# -- bare apps and the reference middlewares (lower bounds, not peers) ----------------------------


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _OK_HEADERS})
    await send({"type": "http.response.body", "body": b"ok"})


def bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"ok"]


class ReferenceBearerASGI:
    """The least a bearer middleware does: find the header, look the token up, set the user."""

    def __init__(self, app: Any, tokens: dict[str, str]) -> None:
        self.app, self.tokens = app, tokens

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                user = self.tokens.get(value[7:].decode("latin-1"))
                if user is not None:
                    scope["user"] = user
                    await self.app(scope, receive, send)
                    return
        await send({"type": "http.response.start", "status": 401, "headers": _REFUSED})
        await send({"type": "http.response.body", "body": b""})


class ReferenceBearerWSGI:
    """The WSGI twin of ``ReferenceBearerASGI``."""

    def __init__(self, app: Any, tokens: dict[str, str]) -> None:
        self.app, self.tokens = app, tokens

    def __call__(self, environ: Any, start_response: Any) -> Any:
        header = environ.get("HTTP_AUTHORIZATION", "")
        user = self.tokens.get(header[7:]) if header[:7].lower() == "bearer " else None
        if user is None:
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b""]
        environ["REMOTE_USER"] = user
        return self.app(environ, start_response)


# -- ASGI peers -----------------------------------------------------------------------------------


def asgi_peers(missing: list[str]) -> list[Case]:
    """The reference middleware, Starlette's AuthenticationMiddleware, FastAPI's HTTPBearer."""
    cases = [
        Case(
            "reference minimal bearer middleware (not a peer), valid",
            "reference",
            ReferenceBearerASGI(bare_asgi, TOKENS),
            PEER_TOKEN,
            200,
        )
    ]
    return cases + _built((_starlette_cases, _fastapi_cases), missing)


def _built(builders: tuple[Callable[[], list[Case]], ...], missing: list[str]) -> list[Case]:
    """The cases of every builder whose packages import; the others are noted in ``missing``."""
    cases: list[Case] = []
    for build in builders:
        try:
            cases.extend(build())
        except ImportError as error:
            missing.append(f"{build.__name__.strip('_')}: {error}")
    return cases


def starlette_dict_backend() -> Any:
    """A Starlette ``AuthenticationBackend`` that looks a bearer token up in ``TOKENS``: no
    header is the unauthenticated user, an unknown token an ``AuthenticationError`` (400)."""
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        SimpleUser,
    )

    class DictBackend(AuthenticationBackend):
        async def authenticate(self, conn: Any) -> tuple[AuthCredentials, SimpleUser] | None:
            header = conn.headers.get("authorization")
            if header is None:
                return None
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer":
                return None
            name = TOKENS.get(token)
            if name is None:
                raise AuthenticationError("unknown token")
            return AuthCredentials(["authenticated"]), SimpleUser(name)

    return DictBackend()


def _starlette_cases() -> list[Case]:
    from starlette.middleware.authentication import AuthenticationMiddleware

    app = AuthenticationMiddleware(bare_asgi, backend=starlette_dict_backend())
    lib = dist("starlette")
    return [
        Case("Starlette AuthenticationMiddleware, valid", lib, app, PEER_TOKEN, 200),
        Case("Starlette, no Authorization (UnauthenticatedUser)", lib, app, None, 200),
        Case("Starlette, unknown token (on_error: 400)", lib, app, UNKNOWN_TOKEN, 400),
    ]


def _fastapi_cases() -> list[Case]:
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import PlainTextResponse
    from fastapi.security import HTTPBearer

    bearer = HTTPBearer()

    async def current_user(credentials: Any = Depends(bearer)) -> str:  # noqa: B008
        return _fastapi_user(credentials.credentials, HTTPException)

    def current_user_sync(credentials: Any = Depends(bearer)) -> str:  # noqa: B008
        return _fastapi_user(credentials.credentials, HTTPException)

    lib = dist("fastapi")
    return [
        Case(FASTAPI_PLAIN, lib, _fastapi_app(FastAPI, PlainTextResponse, None), None, 200),
        Case(
            "FastAPI + HTTPBearer + async def dependency, valid",
            lib,
            _fastapi_app(FastAPI, PlainTextResponse, Depends(current_user)),
            PEER_TOKEN,
            200,
            relative_to=FASTAPI_PLAIN,
        ),
        Case(
            "FastAPI + HTTPBearer + def dependency (threadpool), valid",
            lib,
            _fastapi_app(FastAPI, PlainTextResponse, Depends(current_user_sync)),
            PEER_TOKEN,
            200,
            relative_to=FASTAPI_PLAIN,
        ),
    ]


def _fastapi_user(token: str, error: Callable[..., Exception]) -> str:
    name = TOKENS.get(token)
    if name is None:
        raise error(status_code=401)
    return name


def _fastapi_app(fastapi: Any, response_class: Any, dependency: Any) -> Any:
    app = fastapi()
    dependencies = [] if dependency is None else [dependency]

    app.add_api_route(
        "/users/me", _async_ok, response_class=response_class, dependencies=dependencies
    )
    return app


async def _async_ok() -> str:
    return "ok"


# -- WSGI peers -----------------------------------------------------------------------------------


def wsgi_peers(missing: list[str]) -> list[Case]:
    """The reference middleware, Authlib's core ResourceProtector, Flask and its extensions."""
    cases = [
        Case(
            "reference minimal bearer middleware (not a peer), valid",
            "reference",
            ReferenceBearerWSGI(bare_wsgi, TOKENS),
            PEER_TOKEN,
            200,
        )
    ]
    builders = (
        _authlib_core_cases,
        _flask_plain_cases,
        _flask_httpauth_cases,
        _flask_authlib_cases,
    )
    return cases + _built(builders, missing)


class _PeerToken:
    """What an Authlib validator gets back from its lookup: a token object with a scope."""

    __slots__ = ("expires_at", "user")

    def __init__(self, user: str) -> None:
        self.user = user
        self.expires_at = time.time() + 3600

    def is_expired(self) -> bool:
        return time.time() > self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_scope(self) -> str:
        return "profile"


def _authlib_validator() -> Any:
    from authlib.oauth2.rfc6750 import BearerTokenValidator

    tokens = {token: _PeerToken(user) for token, user in TOKENS.items()}

    class DictValidator(BearerTokenValidator):  # type: ignore[misc]
        def authenticate_token(self, token_string: str) -> _PeerToken | None:
            return tokens.get(token_string)

    return DictValidator()


def _authlib_core_cases() -> list[Case]:
    from authlib.oauth2 import OAuth2Error
    from authlib.oauth2.rfc6749 import OAuth2Request, ResourceProtector

    protector = ResourceProtector()
    protector.register_token_validator(_authlib_validator())

    def middleware(environ: Any, start_response: Any) -> Any:
        header = environ.get("HTTP_AUTHORIZATION")
        uri = f"https://{environ['HTTP_HOST']}{environ['PATH_INFO']}"
        request = OAuth2Request(
            environ["REQUEST_METHOD"], uri, headers={"Authorization": header} if header else {}
        )
        try:
            environ["authlib.token"] = protector.validate_request(["profile"], request)
        except OAuth2Error as error:
            status, body, headers = error()
            start_response(f"{status} Unauthorized", headers)
            return [json.dumps(body).encode()]
        return bare_wsgi(environ, start_response)

    lib = dist("Authlib")
    return [
        Case(
            "Authlib core ResourceProtector in a WSGI middleware, valid",
            lib,
            middleware,
            PEER_TOKEN,
            200,
        ),
        Case(
            "Authlib core ResourceProtector, unknown token (401)",
            lib,
            middleware,
            UNKNOWN_TOKEN,
            401,
        ),
    ]


def _flask_plain_cases() -> list[Case]:
    from flask import Flask

    app = Flask("bench_plain")
    app.add_url_rule("/users/me", "me", _ok)
    return [Case(FLASK_PLAIN, dist("Flask"), app, None, 200)]


def _ok() -> str:
    return "ok"


def _flask_httpauth_cases() -> list[Case]:
    from flask import Flask
    from flask_httpauth import HTTPTokenAuth

    auth = HTTPTokenAuth(scheme="Bearer")
    auth.verify_token(TOKENS.get)
    app = Flask("bench_httpauth")
    app.add_url_rule("/users/me", "me", auth.login_required(_ok))
    lib = dist("Flask-HTTPAuth")
    return [
        Case(
            "Flask + Flask-HTTPAuth HTTPTokenAuth, valid",
            lib,
            app,
            PEER_TOKEN,
            200,
            relative_to=FLASK_PLAIN,
        ),
        Case(
            "Flask + Flask-HTTPAuth, unknown token (401)",
            lib,
            app,
            UNKNOWN_TOKEN,
            401,
            relative_to=FLASK_PLAIN,
        ),
    ]


def _flask_authlib_cases() -> list[Case]:
    from authlib.integrations.flask_oauth2 import ResourceProtector
    from flask import Flask

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(_authlib_validator())
    app = Flask("bench_authlib")
    app.add_url_rule("/users/me", "me", require_oauth("profile")(_ok))
    lib = dist("Authlib")
    return [
        Case(
            "Flask + Authlib require_oauth('profile'), valid",
            lib,
            app,
            PEER_TOKEN,
            200,
            relative_to=FLASK_PLAIN,
        ),
        Case(
            "Flask + Authlib require_oauth, unknown token (401)",
            lib,
            app,
            UNKNOWN_TOKEN,
            401,
            relative_to=FLASK_PLAIN,
        ),
    ]
