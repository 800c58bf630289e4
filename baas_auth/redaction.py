"""Keep secrets out of logs: redact credential parameters and Authorization values in text.

``RedactSecretsFilter`` plugs into any ``logging`` logger (a server's access log, your app's),
so a token sent in a query string never reaches a log file (behaviour §7).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote_plus

from baas_auth.core.credential_names import SECRET_PARAMS

__all__ = ["SECRET_PARAMETERS", "RedactSecretsFilter", "redact"]

SECRET_PARAMETERS = SECRET_PARAMS  # the name 0.1 exported
_MASK = "***"
# Any name=value pair; the name is compared after percent-decoding (%61ccess_token is
# access_token to the middleware, so it must be to the redactor too).
_PAIR = re.compile(r"(?<![A-Za-z0-9_%.-])([A-Za-z0-9_%.+-]{1,64})=([^&\s\"';,]*)")
# A request line's protocol version (``/basic HTTP/1.1``) is never a credential: a line whose
# path merely ends in such a word must not be rewritten, or its shape lost (see the filter).
_NOT_PROTOCOL = r"(?!HTTP/\d)"
_AUTHORIZATION = re.compile(
    r"(?i)((?:authorization|proxy-authorization)['\"]?\s*[:=,]\s*b?['\"]?"
    rf"(?:[A-Za-z][A-Za-z0-9_-]*\s+)?){_NOT_PROTOCOL}[^\s'\",)]+"
)
_SCHEME_VALUE = re.compile(rf"(?i)\b((?:bearer|basic)\s+){_NOT_PROTOCOL}[A-Za-z0-9._~+/=-]{{8,}}")


def _mask_pair(match: re.Match[str]) -> str:
    name = unquote_plus(match.group(1)).lower()
    return f"{match.group(1)}={_MASK}" if name in SECRET_PARAMETERS else match.group(0)


def redact(text: str) -> str:
    """``text`` with the values of secret parameters and credentials replaced by ``***``."""
    if "=" in text:
        text = _PAIR.sub(_mask_pair, text)
    text = _AUTHORIZATION.sub(rf"\g<1>{_MASK}", text)
    return _SCHEME_VALUE.sub(rf"\g<1>{_MASK}", text)


class RedactSecretsFilter(logging.Filter):
    """A logging filter that redacts each record's message; it never drops a record.

    Servers' formatters read ``record.args`` themselves (uvicorn unpacks five values, gunicorn
    and hypercorn pass a dict of atoms), so the secrets are masked inside ``msg`` and ``args``
    and the record keeps its shape.

    Example: ``logging.getLogger("uvicorn.access").addFilter(RedactSecretsFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = _formatted(record)
        if message is None:
            # Logging reports a record it cannot format (Handler.handleError) and quotes its
            # msg and args there: mask those in place, and leave the reporting to logging.
            _redact_parts(record)
        elif redact(message) != message:
            _redact_parts(record)
            after = _formatted(record)
            if after is None or redact(after) != after:
                # A secret split across arguments (a name in one, its value in another) shows
                # only in the whole message. The only case that changes the record's shape:
                # its message becomes the redacted text, with no arguments left to format.
                record.msg, record.args = redact(message), ()
        return True


def _formatted(record: logging.LogRecord) -> str | None:
    """The record's message, or None when formatting it fails (logging reports that itself)."""
    try:
        return record.getMessage()
    except Exception:  # any error of str(msg) or msg % args: the caller's, not the filter's
        return None


def _redact_parts(record: logging.LogRecord) -> None:
    if record.args:
        record.args = _redact_args(record.args)
    if isinstance(record.msg, str):
        record.msg = _redact_format(record.msg, has_args=bool(record.args))


def _redact_format(msg: str, *, has_args: bool) -> str:
    cleaned = redact(msg)
    # With arguments, msg is a %-format: a value masked over a placeholder ("token=%s") would
    # leave an argument over, so keep msg; the whole-message check catches that secret.
    if has_args and cleaned.count("%") != msg.count("%"):
        return msg
    return cleaned


def _redact_args(
    args: tuple[object, ...] | Mapping[str, object],
) -> tuple[object, ...] | Mapping[str, object]:
    if isinstance(args, tuple):
        return tuple(redact(arg) if isinstance(arg, str) else arg for arg in args)
    if isinstance(args, dict):
        return _redact_atoms(args)
    return args  # another kind of mapping cannot be rebuilt; the whole-message check covers it


def _redact_atoms(atoms: dict[str, object]) -> dict[str, object]:
    changed: dict[str, str] = {}
    for key, value in atoms.items():  # items(), not atoms[key]: SafeAtoms rewrites lookups
        if isinstance(value, str) and (masked := redact(value)) != value:
            changed[key] = masked
    if not changed:
        return atoms
    # A shallow copy keeps the class (gunicorn's SafeAtoms answers "-" for an atom it lacks) and
    # leaves the caller's mapping as it was.
    copied = copy.copy(atoms)
    for key, value in changed.items():
        copied[key] = value
    return copied
