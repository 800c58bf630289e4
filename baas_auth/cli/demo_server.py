"""The demo's HTTP server: wsgiref, threaded, with a request log that never shows a credential."""

from __future__ import annotations

import socket
import sys
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote_plus
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from baas_auth.cli.failures import UsageError
from baas_auth.core.credential_names import SECRET_PARAMS

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["interrupt", "make_server", "redact_query"]


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
    """``query`` with the values of the secret parameters (``credential_names.SECRET_PARAMS``)
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


def make_server(host: str, port: int, app: WSGIApplication) -> _ThreadingWSGIServer:
    kind = _IPv6Server if ":" in host else _ThreadingWSGIServer
    try:
        server = kind((host, port), _RedactingHandler)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    server.set_app(app)
    return server


def interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt
