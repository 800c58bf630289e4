"""A local stand-in for the original's REST API, for ``import --from usergrid-export --api``.

It answers what the crawler asks with the original's response shapes: ``POST /management/token``
(client credentials in a JSON body → ``access_token``), then GETs with that bearer token, each
path answered from ``routes`` (404 otherwise). A list of entities is served a page at a time
(``page`` entities, the next page's ``cursor``), as the original pages its collections.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["TOKEN", "FakeApi", "serving"]

TOKEN = "YWMtfake-org-token"


class FakeApi:
    def __init__(self, client_id: str, client_secret: str, *, page: int = 1) -> None:
        self.client = (client_id, client_secret)
        self.routes: dict[str, Any] = {}
        self.page = page
        self.asked: list[str] = []
        self.forbidden: tuple[str, ...] = ()
        """Path prefixes answered 403 (another org than the client's)."""


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            given = (body.get("client_id"), body.get("client_secret"))
            if self.path != "/management/token" or given != api.client:
                self._answer(401, {"error": "invalid_client"})
                return
            self._answer(200, {"access_token": TOKEN, "expires_in": 604800})

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"error": "unauthorized"})
                return
            parts = urlsplit(self.path)
            api.asked.append(parts.path)
            answer = api.routes.get(parts.path)
            if parts.path.startswith(api.forbidden or ("\0",)):
                self._answer(403, {"error": "unauthorized"})
                return
            if answer is None:
                self._answer(404, {"error": "service_resource_not_found"})
                return
            if isinstance(answer, dict) and isinstance(answer.get("entities"), list):
                answer = self._page(answer, parse_qs(parts.query))
            self._answer(200, answer)

        def _page(self, answer: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
            start = int(query.get("cursor", ["0"])[0])
            entities = answer["entities"]
            page = {**answer, "entities": entities[start:start + api.page]}
            if start + api.page < len(entities):
                page["cursor"] = str(start + api.page)
            return page

    return Handler


@contextmanager
def serving(api: FakeApi) -> Iterator[str]:
    """The API served on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
