"""Cost of an identity provider's token on the request path, beside the peers (behaviour §8):
a first sighting (a token never seen: verified, then the store read for whom it stands for)
and the steady state (the same token again: remembered until its ``exp`` under the change
stamp), each through baas_auth's WSGI middleware in process, against joserfc's own decode and
claims check (the library baas_auth verifies with), PyJWT with ``PyJWKClient`` (keys fetched
once from a loopback JWKS URL, then from its cache) and Authlib's RFC 9068 resource protector
validator (``JWTBearerTokenValidator.authenticate_token``); and baas_auth's own token, remembered,
for the steady-state ratio, and a first sighting of its own token (what any token's first
request costs the middleware beyond verifying it). CPU time per call, the median of
interleaved batches (every variant once per round), so that other work on the machine weighs
on all alike.

    PYTHONPATH=. python benchmarks/bench_federation.py [--quick] [--json out.json]
"""

from __future__ import annotations

import gc
import http.server
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from _timing import Report, Settings, Timing, cli, result
from bench_jwt_verify import AUDIENCE, ISSUER, _keys, joserfc_verifier

ALGORITHMS = ("RS256", "ES256")
FIRST_BATCH = 25
"""Calls per batch of a first sighting: each needs a token never seen (signed beforehand)."""


def _claims(i: int) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 3600, "iat": now - 5,
            "nbf": now - 5, "jti": f"t{i}", "scope": "read write", "azp": "shop-web"}


def _tokens(alg: str, key: Any, count: int) -> list[str]:
    from joserfc import jwt

    return [jwt.encode({"alg": alg, "kid": "k1", "typ": "at+jwt"}, _claims(i), key,
                       algorithms=[alg]) for i in range(count)]


def _public_jwks(key: Any) -> dict[str, object]:
    return {"keys": [dict(key.as_dict(private=False), kid="k1")]}


class _Middleware:
    """baas_auth's WSGI middleware around an app that answers 200, over a memory store where
    acme/shop trusts the provider (an inline key set: nothing fetched while timing)."""

    def __init__(self, alg: str, key: Any) -> None:
        from baas_auth import MemoryStore, PasswordHasher, Realm
        from baas_auth.wsgi import AuthMiddleware

        self.realm = Realm(MemoryStore(), password_hasher=PasswordHasher(n=16, r=1, p=1))
        self.realm.create_org("acme")
        self.realm.create_app("acme", "shop", roles="usergrid")
        self.realm.create_user("acme", "shop", "alice", password="a long password")
        self.realm.add_identity_provider("acme", "shop", issuer=ISSUER, audience=AUDIENCE,
                                         jwks=_public_jwks(key), algorithms=(alg,))

        def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        self.app = AuthMiddleware(inner, self.realm)
        self._status: list[str] = []

    def call(self, token: str) -> None:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/acme/shop/books", "QUERY_STRING": "",
                   "SERVER_NAME": "bench", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
                   "HTTP_AUTHORIZATION": f"Bearer {token}"}
        self._status.clear()
        for _ in self.app(environ, lambda status, headers, exc=None: self._status.append(status)):
            pass
        if not self._status[0].startswith("200"):
            raise RuntimeError(f"the middleware answered {self._status[0]}")

    def own_token(self) -> str:
        return self.realm.password_token("acme", "shop", "alice", "a long password").access_token


class _KeyServer:
    """The JWKS on a loopback URL, for PyJWT's ``PyJWKClient`` (fetched once, then cached)."""

    def __init__(self, document: dict[str, object]) -> None:
        body = json.dumps(document).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"


def _pyjwt_client(alg: str, url: str) -> Callable[[str], str]:
    import jwt

    client = jwt.PyJWKClient(url, cache_keys=True)

    def verify(token: str) -> str:
        signing = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, signing.key, algorithms=[alg], audience=AUDIENCE,
                            issuer=ISSUER, options={"require": ["exp", "iss", "aud"]})
        return str(claims["sub"])

    return verify


def _authlib_validator(alg: str, key: Any) -> Callable[[str], str]:
    from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
    from joserfc.jwk import KeySet

    key_set = KeySet.import_key_set(_public_jwks(key))

    class Validator(JWTBearerTokenValidator):  # type: ignore[misc]
        def get_jwks(self) -> KeySet:
            return key_set

    validator = Validator(issuer=ISSUER, resource_server=AUDIENCE)

    def verify(token: str) -> str:
        claims = validator.authenticate_token(token)
        return str(claims["sub"])

    return verify


def _first_sightings(middleware: _Middleware, tokens: list[str]) -> Callable[[], object]:
    fresh: Iterator[str] = iter(tokens)
    return lambda: middleware.call(next(fresh))


def run(settings: Settings, report: Report) -> None:
    keys = _keys()
    calls: dict[tuple[str, str], tuple[Callable[[], object], int]] = {}
    for alg in ALGORITHMS:
        key = keys[alg]
        [token] = _tokens(alg, key, 1)
        key_server = _KeyServer(_public_jwks(key))
        peers = {
            "joserfc decode + claims": joserfc_verifier(alg, key),
            "PyJWT + PyJWKClient": _pyjwt_client(alg, key_server.url),
            "Authlib RFC 9068 validator": _authlib_validator(alg, key),
        }
        for name, verify in peers.items():
            if verify(token) != "alice":
                raise RuntimeError(f"{name} {alg} did not verify")
            calls[name, alg] = (lambda v=verify, t=token: v(t), 0)
        middleware = _Middleware(alg, key)
        middleware.call(token)  # the provider's keys parsed, the token remembered
        steady = (lambda m=middleware, t=token: m.call(t), 0)
        calls["baas_auth steady: provider token", alg] = steady
        own = middleware.own_token()
        middleware.call(own)
        calls["baas_auth steady: own token", alg] = (lambda m=middleware, t=own: m.call(t), 0)
        count = FIRST_BATCH * (settings.batches + 1)
        fresh = _tokens(alg, key, count)
        calls["baas_auth first sighting", alg] = (_first_sightings(middleware, fresh), FIRST_BATCH)
        owns = [middleware.own_token() for _ in range(count)]
        calls["baas_auth first sighting: own token", alg] = (
            _first_sightings(middleware, owns), FIRST_BATCH
        )
    for (name, alg), timing in _interleaved(calls, settings).items():
        report.add(result("federation", f"{name} {alg}", timing, variant=name, alg=alg))
    print(_table(report))


def _interleaved(
    calls: dict[tuple[str, str], tuple[Callable[[], object], int]], settings: Settings
) -> dict[tuple[str, str], Timing]:
    sizes = {variant: fixed or _batch_size(call) for variant, (call, fixed) in calls.items()}
    samples: dict[tuple[str, str], list[float]] = {variant: [] for variant in calls}
    for _ in range(settings.batches):
        for variant, (call, _fixed) in calls.items():
            gc.collect()
            start = time.process_time_ns()
            for _ in range(sizes[variant]):
                call()
            samples[variant].append((time.process_time_ns() - start) / sizes[variant])
    return {variant: Timing(statistics.median(per), sizes[variant], tuple(per), 1.0)
            for variant, per in samples.items()}


def _batch_size(call: Callable[[], object]) -> int:
    start = time.process_time_ns()
    for _ in range(20):
        call()
    per = max(1, (time.process_time_ns() - start) // 20)
    return max(20, min(20_000, 20_000_000 // per))  # about 20 ms a batch


def _table(report: Report) -> str:
    rows = {(row.params["variant"], row.params["alg"]): row.per_call_ns / 1000
            for row in report.results}
    lines = ["| µs CPU per request or call | " + " | ".join(ALGORITHMS) + " |",
             "|---|" + "---|" * len(ALGORITHMS)]
    for variant in dict.fromkeys(name for name, _ in rows):
        cells = [f"{rows[variant, alg]:.1f}" for alg in ALGORITHMS]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    for alg in ALGORITHMS:
        first = rows["baas_auth first sighting", alg] / rows["joserfc decode + claims", alg]
        steady = (rows["baas_auth steady: provider token", alg]
                  / rows["baas_auth steady: own token", alg])
        beyond = (rows["baas_auth first sighting", alg]
                  - rows["baas_auth first sighting: own token", alg])
        lines.append(f"\n{alg}: first sighting / joserfc = {first:.2f}; first sighting minus "
                     f"an own token's = {beyond:.0f} µs; steady provider / own token = "
                     f"{steady:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    cli(run)
