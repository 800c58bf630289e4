"""A wrapped app with a health path, for real servers: ``wsgi_app`` (gunicorn) over a ``Realm``,
``asgi_app`` (uvicorn) over an ``AsyncRealm``, both on the store ``$BAAS_REALM`` names."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from baas_auth import AsyncRealm, Realm
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.wsgi import AuthMiddleware as WsgiAuth

HEALTH = "/healthz"


def _inner_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"inner"]


async def _inner_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"inner"})


_URL = os.environ["BAAS_REALM"]
if os.environ.get("BAAS_ADAPTER") == "asgi":
    asgi_app = AsgiAuth(_inner_asgi, AsyncRealm.open(_URL), health_path=HEALTH)
else:
    wsgi_app = WsgiAuth(_inner_wsgi, Realm.open(_URL), health_path=HEALTH)
