"""Cost of verifying one identity provider's JWT (RS256 and ES256) with the JOSE libraries that
could back the ``baas-auth[jwt]`` extra, and with baas_auth's own verifier on top of the chosen
one. Each variant decodes a 9-claim token with its public key imported beforehand and checks
signature, ``iss``, ``aud`` and ``exp``. Figures are CPU time per call (``process_time``), the
median of batches taken in interleaved rounds (every variant once per round), so that other work
on the machine weighs on every variant alike. Prints a table with ratios to the fastest of each
column; ``--json`` writes the rows in the shared harness's format.

    PYTHONPATH=. python benchmarks/bench_jwt_verify.py [--quick] [--json out.json]
"""

from __future__ import annotations

import gc
import importlib
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from _timing import Report, Settings, Timing, cli, result

ISSUER = "https://idp.example.com/realms/acme"
AUDIENCE = "shop-api"
ALGORITHMS = ("RS256", "ES256")


class SanityError(RuntimeError):
    """A verifier answered wrongly; its timing would measure a broken path."""


def _keys() -> dict[str, Any]:
    from joserfc.jwk import ECKey, RSAKey

    return {"RS256": RSAKey.generate_key(2048), "ES256": ECKey.generate_key("P-256")}


def _claims() -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 3600, "iat": now,
            "nbf": now, "jti": "a1b2c3", "scope": "read write", "azp": "shop-web"}


def _token(alg: str, key: Any) -> str:
    from joserfc import jwt

    return jwt.encode({"alg": alg, "kid": "k1", "typ": "at+jwt"}, _claims(), key,
                      algorithms=[alg])


def joserfc_verifier(alg: str, key: Any) -> Callable[[str], str]:
    from joserfc import jwt
    from joserfc.jwk import import_key

    public = import_key(key.as_dict(private=False))
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
    )

    def verify(token: str) -> str:
        decoded = jwt.decode(token, public, algorithms=[alg])
        registry.validate(decoded.claims)
        return str(decoded.claims["sub"])

    return verify


def pyjwt_verifier(alg: str, key: Any) -> Callable[[str], str]:
    import jwt

    public = key.get_op_key("verify")  # a cryptography public key, as PyJWK would hold

    def verify(token: str) -> str:
        claims = jwt.decode(token, public, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iss", "aud"]})
        return str(claims["sub"])

    return verify


def authlib_verifier(alg: str, key: Any) -> Callable[[str], str]:
    # Authlib 1.x warns on use that authlib.jose is moving to joserfc; the warning is not timed.
    with warnings.catch_warnings(record=True):
        jose = importlib.import_module("authlib.jose")
        jwt = jose.JsonWebToken([alg])
        public = jose.JsonWebKey.import_key(key.as_dict(private=False))
    options = {"iss": {"essential": True, "value": ISSUER},
               "aud": {"essential": True, "value": AUDIENCE}, "exp": {"essential": True}}

    def verify(token: str) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            claims = jwt.decode(token, public, claims_options=options)
            claims.validate()
        return str(claims["sub"])

    return verify


def baas_auth_verifier(alg: str, key: Any) -> Callable[[str], str]:
    from baas_auth.core.identity_providers import IdentityProvider
    from baas_auth.core.jwk import parse_jwks
    from baas_auth.core.jwt_tokens import verify_provider_token

    jwks = {"keys": [dict(key.as_dict(private=False), kid="k1")]}
    provider = IdentityProvider(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, algorithms=(alg,))
    keys = parse_jwks(provider.jwks, provider.algorithms)

    def verify(token: str) -> str:
        return verify_provider_token(token, provider, keys, now=time.time()).subject

    return verify


VARIANTS: dict[str, tuple[str, Callable[[str, Any], Callable[[str], str]]]] = {
    "joserfc": ("joserfc", joserfc_verifier),
    "PyJWT[crypto]": ("jwt", pyjwt_verifier),
    "Authlib (authlib.jose)": ("authlib", authlib_verifier),
    "baas_auth core (on joserfc)": ("joserfc", baas_auth_verifier),
}


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    names = {"jwt": "PyJWT", "authlib": "Authlib", "joserfc": "joserfc"}
    try:
        return version(names.get(module, module))
    except PackageNotFoundError:
        return "?"


def run(settings: Settings, report: Report) -> None:
    keys = _keys()
    tokens = {alg: _token(alg, key) for alg, key in keys.items()}
    calls: dict[tuple[str, str], Callable[[], object]] = {}
    for name, (module, make) in VARIANTS.items():
        try:
            importlib.import_module(module)
        except ImportError:
            report.notes.append(f"{name}: not installed, skipped")
            continue
        for alg in ALGORITHMS:
            verify, token = make(alg, keys[alg]), tokens[alg]
            if verify(token) != "alice":
                raise SanityError(f"{name} {alg} did not verify")
            calls[name, alg] = lambda v=verify, t=token: v(t)
    for (name, alg), timing in _interleaved(calls, settings).items():
        report.add(result("jwt_verify", f"{name} {alg}", timing, library=name, alg=alg,
                          version=_version(VARIANTS[name][0])))
    print(markdown(report))


def _interleaved(
    calls: dict[tuple[str, str], Callable[[], object]], settings: Settings
) -> dict[tuple[str, str], Timing]:
    """CPU time per call (``process_time``), the median of batches taken in rounds that visit
    every variant once: on a machine busy with other work, wall time measures the neighbours,
    and a slow moment falls on every variant alike."""
    sizes = {variant: _batch_size(call) for variant, call in calls.items()}
    samples: dict[tuple[str, str], list[float]] = {variant: [] for variant in calls}
    for _ in range(settings.batches):
        for variant, call in calls.items():
            gc.collect()
            start = time.process_time_ns()
            for _ in range(sizes[variant]):
                call()
            samples[variant].append((time.process_time_ns() - start) / sizes[variant])
    return {
        variant: Timing(statistics.median(per), sizes[variant], tuple(per), 1.0)
        for variant, per in samples.items()
    }


def _batch_size(call: Callable[[], object], target_ns: int = 30_000_000) -> int:
    for _ in range(20):  # warm-up
        call()
    start = time.process_time_ns()
    for _ in range(20):
        call()
    per_call = max((time.process_time_ns() - start) / 20, 1.0)
    return max(5, round(target_ns / per_call))


def markdown(report: Report) -> str:
    """A table: µs per verify for each library and algorithm, and the ratio to the fastest."""
    figures: dict[str, dict[str, float]] = {}
    for row in report.results:
        figures.setdefault(row.params["library"], {})[row.params["alg"]] = row.per_call_ns
    fastest = {alg: min(per.get(alg, float("inf")) for per in figures.values())
               for alg in ALGORITHMS}
    lines = ["| µs per verify | " + " | ".join(f"{alg} | x fastest" for alg in ALGORITHMS) + " |",
             "|---" * (1 + 2 * len(ALGORITHMS)) + "|"]
    for library, per in figures.items():
        cells = [f"{per[alg] / 1000:.0f} | {per[alg] / fastest[alg]:.2f}" for alg in ALGORITHMS]
        lines.append(f"| {library} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    cli(run)
