"""Keep secrets out of logs: redact credential parameters and Authorization values in text.

``RedactSecretsFilter`` plugs into any ``logging`` logger (a server's access log, your app's),
so a token sent in a query string never reaches a log file (behaviour §7).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

__all__ = ["SECRET_PARAMETERS", "RedactSecretsFilter", "redact"]

SECRET_PARAMETERS = frozenset(
    {"access_token", "client_secret", "password", "token", "refresh_token"}
)
_MASK = "***"
# Any name=value pair; the name is compared after percent-decoding (%61ccess_token is
# access_token to the middleware, so it must be to the redactor too).
_PAIR = re.compile(r"(?<![A-Za-z0-9_%.-])([A-Za-z0-9_%.+-]{1,64})=([^&\s\"';,]*)")
_AUTHORIZATION = re.compile(
    r"(?i)((?:authorization|proxy-authorization)['\"]?\s*[:=,]\s*b?['\"]?"
    r"(?:[A-Za-z][A-Za-z0-9_-]*\s+)?)[^\s'\",)]+"
)
_SCHEME_VALUE = re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}")


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

    Example: ``logging.getLogger("uvicorn.access").addFilter(RedactSecretsFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
