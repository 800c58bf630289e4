"""Keys, hand-made JWTs (any header, any algorithm, HMAC included) and a loopback HTTP server
that serves a key set and records every request it gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

NOW = 1_800_000_000
ISSUER = "https://idp.example.com/realms/acme"
AUDIENCE = "shop-api"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(json.dumps(value).encode())


@dataclass(frozen=True)
class SigningKey:
    """A private key and the public JWK a provider would publish for it."""

    private: Any
    kid: str | None

    def jwk(self, **extra: object) -> dict[str, object]:
        public: dict[str, object] = dict(self.private.as_dict(private=False))
        if self.kid is not None:
            public["kid"] = self.kid
        public.update(extra)
        return public

    def pem(self) -> bytes:
        return self.private.as_pem(private=False)


def rsa_key(kid: str | None = "rsa-1") -> SigningKey:
    return SigningKey(RSAKey.generate_key(2048), kid)


def ec_key(kid: str | None = "ec-1", curve: str = "P-256") -> SigningKey:
    return SigningKey(ECKey.generate_key(curve), kid)


def ed_key(kid: str | None = "ed-1") -> SigningKey:
    return SigningKey(OKPKey.generate_key("Ed25519"), kid)


def jwks(*keys: SigningKey) -> dict[str, object]:
    return {"keys": [key.jwk() for key in keys]}


def claims(**changes: object) -> dict[str, object]:
    """Good claims at NOW; a change to None removes the claim."""
    base: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "exp": NOW + 300,
        "iat": NOW - 10,
        "nbf": NOW - 10,
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def header_for(key: SigningKey, alg: str, **changes: object) -> dict[str, object]:
    header: dict[str, object] = {"alg": alg, "typ": "at+jwt"}
    if key.kid is not None:
        header["kid"] = key.kid
    header.update(changes)
    return {name: value for name, value in header.items() if value is not None}


def sign(key: SigningKey, alg: str, payload: dict[str, object] | None = None,
         **header_changes: object) -> str:
    """A compact JWT signed by ``key`` with ``alg``, with the usual header changed as asked."""
    return sign_with_header(key, alg, header_for(key, alg, **header_changes), payload)


def sign_with_header(key: SigningKey, alg: str, header: dict[str, object],
                     payload: dict[str, object] | None = None) -> str:
    """A compact JWT signed by ``key`` with ``alg``, whatever ``header`` says."""
    signing_input = f"{segment(header)}.{segment(claims() if payload is None else payload)}"
    signature = JWSRegistry.algorithms[alg].sign(signing_input.encode(), key.private)
    return f"{signing_input}.{b64(signature)}"


def hmac_token(secret: bytes, header: dict[str, object], payload: dict[str, object]) -> str:
    """An HS256 token whose shared secret is ``secret`` (the key-confusion attack)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def unsigned(header: dict[str, object], payload: dict[str, object], signature: str = "") -> str:
    return f"{segment(header)}.{segment(payload)}.{signature}"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class KeyServer:
    """A loopback HTTP server: answers every GET with ``answer`` and records the paths asked.

    ``hold`` (when set) makes each request wait for ``release`` first, so a test can keep a
    fetch in flight while it checks what other callers do.
    """

    def __init__(self) -> None:
        self.answer = Answer()
        self.hits: list[str] = []
        self.hit = threading.Condition()
        self.hold: threading.Event | None = None
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/certs"

    def serve(self, document: object, status: int = 200) -> None:
        self.answer = Answer(status, json.dumps(document).encode())

    def wait_for_hits(self, count: int, timeout: float = 10.0) -> bool:
        with self.hit:
            return self.hit.wait_for(lambda: len(self.hits) >= count, timeout)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server.hit:
                    server.hits.append(self.path)
                    server.hit.notify_all()
                if server.hold is not None:
                    server.hold.wait(timeout=10)
                answer = server.answer
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet

        return Handler

    def __enter__(self) -> KeyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def key_server() -> Iterator[KeyServer]:
    with KeyServer() as server:
        yield server
