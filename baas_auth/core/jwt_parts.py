"""The compact JWS form of a JWT, taken apart strictly before anything trusts it (RFC 7515 §7.1).

Three base64url segments without padding; the first two decode to UTF-8 JSON objects. Anything
else (a size over 8 KiB, a stray character, a duplicate member name, ``NaN``) is a malformed
token. Nothing is verified here; ``peek_issuer`` reads ``iss`` unverified, only to choose which
provider's keys will verify the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from baas_auth.errors import MalformedTokenError

__all__ = ["MAX_TOKEN_CHARS", "CompactJWT", "parse_compact", "peek_issuer"]

MAX_TOKEN_CHARS = 8192
"""The largest token read at all (behaviour §8: 8 KiB): parsing cost stays bounded."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class CompactJWT:
    """A JWT taken apart, unverified: its header and claims, what was signed, the signature."""

    header: dict[str, object]
    claims: dict[str, object]
    signing_input: bytes
    signature: bytes


def parse_compact(token: object) -> CompactJWT:
    """``token`` taken apart, or ``MalformedTokenError``; never any other error."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise MalformedTokenError()
    segments = token.split(".")
    if len(segments) != 3 or not all(segments):
        raise MalformedTokenError()
    header_text, claims_text, signature_text = segments
    return CompactJWT(
        header=_json_object(_decode_segment(header_text)),
        claims=_json_object(_decode_segment(claims_text)),
        signing_input=f"{header_text}.{claims_text}".encode("ascii"),
        signature=_decode_segment(signature_text),
    )


def peek_issuer(token: object) -> str | None:
    """The unverified ``iss`` of ``token``, or None when it has none or does not parse.

    Only for choosing a provider: the provider's own checks decide whether to believe it.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        return None  # one of baas_auth's own tokens has no dot: answered without decoding
    try:
        issuer = _json_object(_decode_segment(token.split(".")[1])).get("iss")
    except MalformedTokenError:
        return None
    return issuer if isinstance(issuer, str) else None


def _decode_segment(segment: str) -> bytes:
    # RFC 7515 base64url: the URL-safe alphabet and no padding; a length of 4n+1 cannot be.
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedTokenError()
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedTokenError() from exc


def _json_object(raw: bytes) -> dict[str, object]:
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedTokenError() from exc
    if not isinstance(value, dict):
        raise MalformedTokenError()
    return value


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # Two parsers that keep different duplicates would read different claims (RFC 7515 §5.2).
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_refuse_constant)
"""Made once: ``json.loads`` with hooks would build a decoder (and its scanner) per call."""
