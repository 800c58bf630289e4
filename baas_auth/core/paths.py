"""The route path that is checked (behaviour §5.2): decoding, ``root_path`` removal, and rejection.

Everything here rejects and never normalises: a normaliser that disagrees with the router is how
path-matching bypasses happen. Pure functions; every refusal is a ``BadRequestError`` (400).
"""

from __future__ import annotations

import re

from baas_auth.errors import BadRequestError

__all__ = [
    "check_raw_path",
    "check_route_path",
    "rule_path",
    "split_segments",
    "strip_root_path",
    "wsgi_route_path",
]

# C0, DEL and C1 controls, lone surrogates (undecodable bytes smuggled through surrogateescape),
# and the characters that mean something else to some router, proxy or servlet container.
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff;\\#?%]")

# An empty segment anywhere, or a `.`/`..` segment; one search instead of a split per request.
_BAD_SEGMENT = re.compile(r"//|/\.\.?(?:/|\Z)")

# Percent-encodings of bytes that change how a path splits or decodes: / \ % . ; # ? and NUL.
# `%25` also catches double encoding (`%252f`). Raw C0 controls and DEL are refused as well.
_FORBIDDEN_RAW = re.compile(rb"%(?:2[fFeE5]|5[cC]|3[bBfF]|23|00)|[\x00-\x1f\x7f]")
# The same without the encoded '/': for a path the middleware answers itself (a group's path).
_FORBIDDEN_RAW_BUT_SLASH = re.compile(rb"%(?:2[eE5]|5[cC]|3[bBfF]|23|00)|[\x00-\x1f\x7f]")

# Absolute-form request target (RFC 9112 §3.2.2): scheme and authority precede the path.
_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def wsgi_route_path(path_info: str) -> str:
    """Return the route path of a WSGI ``PATH_INFO``, re-decoded as UTF-8; empty means ``/``.

    PEP 3333 hands over the path bytes decoded as latin-1. A string holding characters above
    U+00FF cannot come from that decoding, so it is taken as already decoded.
    """
    if not path_info:
        return "/"
    if path_info.isascii():
        return path_info
    try:
        raw = path_info.encode("latin-1")
    except UnicodeEncodeError:
        return path_info
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("The request path is not valid UTF-8") from None


def strip_root_path(path: str, root_path: str) -> str:
    """Remove ``root_path`` from the front of ``path``, on a segment boundary only.

    ``/api`` is removed from ``/api`` and ``/api/x`` but ``/apix`` is refused (400), as is any
    path outside ``root_path``. ``""`` and ``"/"`` remove nothing. An empty remainder means ``/``.
    A ``root_path`` with a trailing slash (``/api/``) is refused: frameworks strip it
    differently (Starlette routes ``/api/x`` whole under it, Django routes ``x``), so no path
    could be checked that is surely the routed one (behaviour §5.2).
    """
    if root_path in ("", "/"):
        return path or "/"
    if root_path.endswith("/"):
        raise BadRequestError(
            "The server's root_path ends with '/'; configure it without the trailing slash"
        )
    if path == root_path:
        return "/"
    if path.startswith(root_path) and path[len(root_path)] == "/":
        return path[len(root_path) :]
    raise BadRequestError("The request path is outside the application's root path")


def check_route_path(path: str, *, allow_trailing_slash: bool = False) -> None:
    """Raise ``BadRequestError`` unless ``path`` is a canonical route path.

    A canonical path starts with ``/``; has no control character, lone surrogate, ``;``, ``\\``,
    ``#``, ``?`` or ``%``; and has no empty, ``.`` or ``..`` segment. A trailing slash is an empty
    last segment and is refused too, unless ``allow_trailing_slash`` (for routers such as Django's
    whose URLs end in ``/``); the root ``/`` itself is always accepted.
    """
    if not path.startswith("/"):
        raise BadRequestError("The request path must start with '/'")
    if _FORBIDDEN_CHARS.search(path):
        raise BadRequestError("The request path contains a forbidden character")
    if path == "/":
        return
    if path.endswith("/") and not allow_trailing_slash:
        raise BadRequestError("The request path contains an empty segment (a trailing '/')")
    bad = _BAD_SEGMENT.search(path)
    if bad is not None:
        if bad.group() == "//":
            raise BadRequestError("The request path contains an empty segment")
        raise BadRequestError("The request path contains a '.' or '..' segment")


def check_raw_path(raw: bytes, *, encoded_slash: bool = False) -> None:
    """Raise ``BadRequestError`` if the raw request target's path hides an encoded separator.

    ``raw`` is an ASGI ``raw_path`` or a WSGI ``RAW_URI``/``REQUEST_URI``; any query is cut off
    first, and so are the scheme and authority of an absolute-form target. ``encoded_slash``
    lets ``%2F`` through: only for a path no router but the middleware's reads (the
    management API's group paths), whose decoded path is the one it matches and checks.
    """
    path = raw.split(b"?", 1)[0]
    if path[:1] != b"/":
        match = _ABSOLUTE_FORM.match(path)
        if match:
            path = path[match.end() :]
    forbidden = _FORBIDDEN_RAW_BUT_SLASH if encoded_slash else _FORBIDDEN_RAW
    if forbidden.search(path):
        raise BadRequestError(
            "The raw request path contains a control byte or an encoded '/', '\\', '%', '.', "
            "';', '#', '?' or NUL"
        )


def split_segments(path: str) -> list[str]:
    """The segments of a route path: ``/`` has none, ``/a/b`` has ``["a", "b"]``."""
    return path[1:].split("/") if path != "/" else []


def rule_path(path: str) -> str:
    """The path rules are matched against: a route path with its one trailing slash dropped.

    Routers treat ``/books/`` and ``/books`` as the same resource (or redirect one to the other),
    so a rule for ``/books`` covers both; ``check_route_path`` has already refused ``//``.
    """
    if len(path) > 1 and path.endswith("/"):
        return path[:-1]
    return path
