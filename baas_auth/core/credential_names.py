"""The names that matter to the middleware, written once: the parameters that carry credentials
or secrets, and the request headers the decision reads. Extraction, scrubbing, the strict token
endpoint, log redaction, the demo's request log and both adapters all read them from here. Pure.
"""

from __future__ import annotations

__all__ = [
    "CREDENTIAL_PARAMS",
    "DECISION_HEADERS",
    "OVERRIDE_HEADERS",
    "SECRET_PARAMS",
    "URI_SECRET_PARAMS",
]

CREDENTIAL_PARAMS = frozenset({"access_token", "client_id", "client_secret"})
"""Query parameters that carry credentials (behaviour §2): extracted, then removed from the
query string the inner app and its logs see."""

SECRET_PARAMS = frozenset(
    (CREDENTIAL_PARAMS - {"client_id"})
    | {"password", "token", "refresh_token", "oldpassword", "newpassword"}
)
"""Parameters whose values are secret wherever they appear: masked in logs (a client_id is
not a secret; a ``token`` is the one a revoke endpoint is asked to revoke)."""

URI_SECRET_PARAMS = frozenset(CREDENTIAL_PARAMS | {"password", "username", "refresh_token"})
"""What the strict profile's token endpoint refuses in the URI (RFC 6749: POST the grant,
and a refresh token is as secret as a password)."""

OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
"""Method-override headers (lower case, ``-`` spelled): refused (behaviour §5.1, §6.3)."""

DECISION_HEADERS = (
    "authorization",
    "content-type",
    "origin",
    "access-control-request-method",
    *OVERRIDE_HEADERS,
)
"""The request headers the decision reads; adapters hand over these and no others."""
