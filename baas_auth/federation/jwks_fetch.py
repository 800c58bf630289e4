"""Fetching a provider's JWK set over HTTPS with the standard library (behaviour §8).

HTTPS only (plain HTTP only to a loopback host), a timeout, a bound on the body, no redirects
(a redirect could lead from HTTPS to plain HTTP, or to a host nobody configured), and a body
that must be a JSON object. Any failure is ``JWKSFetchError``; the caller keeps its last keys.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import Message
from typing import IO, NoReturn
from urllib.parse import urlsplit

from baas_auth.core.identity_providers import is_loopback_host

__all__ = ["MAX_JWKS_BYTES", "JWKSFetchError", "fetch_jwks"]

MAX_JWKS_BYTES = 256 * 1024
"""The largest key set read: real ones hold a few keys, a few KiB."""


class JWKSFetchError(Exception):
    """The key set could not be fetched or was not a JSON object; the message says why."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> NoReturn:
        fp.close()
        raise JWKSFetchError(f"the key set URL answered {code}, a redirect, which is not followed")


_OPENER = urllib.request.build_opener(_NoRedirects())


def fetch_jwks(url: str, timeout_s: float, *, max_bytes: int = MAX_JWKS_BYTES) -> object:
    """The JSON object at ``url``, or ``JWKSFetchError``."""
    _check_scheme(url)
    # The scheme was checked just above: https, or http to loopback only.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # an error answer holds its connection until closed
        raise JWKSFetchError(f"the key set URL answered {exc.code}") from exc
    except (OSError, ValueError) as exc:  # URLError, timeouts, a bad status line
        raise JWKSFetchError(f"fetching the key set failed: {type(exc).__name__}") from exc
    if len(body) > max_bytes:
        raise JWKSFetchError(f"the key set is larger than {max_bytes} bytes")
    return _json_object(body)


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return
    raise JWKSFetchError("key sets are fetched over https:// (http:// only from loopback)")


def _json_object(body: bytes) -> object:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JWKSFetchError("the key set is not JSON") from exc
    if not isinstance(document, dict):
        raise JWKSFetchError("the key set is not a JSON object")
    return document
