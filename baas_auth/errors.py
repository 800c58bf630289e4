"""The error tree; each request-time error knows its HTTP status and codes (behaviour §4).

BaasAuthError                          root; never raised directly
├── ConfigError (ValueError)           bad configuration: rule text, names, options
│   ├── NotFoundError (LookupError)    no such org, app, user, role, group or client
│   └── ConflictError                  the name is taken
├── AuthError                          a refusal: status_code, error, error_description
│   ├── BadRequestError         400    invalid_request
│   │   ├── IllegalArgumentError       illegal_argument (a bad ttl)
│   │   ├── InvalidGrantError          invalid_grant (bad password, unknown user)
│   │   └── UnsupportedGrantTypeError  unsupported_grant_type
│   ├── AuthenticationError     401    unauthorized
│   │   ├── InvalidTokenError          a token that does not authenticate
│   │   │   ├── MalformedTokenError    auth_bad_access_token (unparsable, bad MAC)
│   │   │   ├── ExpiredTokenError      expired_token
│   │   │   └── RevokedTokenError      auth_invalid (revoked or unknown)
│   │   ├── InvalidClientError         invalid_client (client_id/client_secret)
│   │   └── InvalidClientCredentialsError  auth_invalid_credentials (Basic)
│   ├── ForbiddenError          403    unauthorized, challenge insufficient_scope
│   ├── ResourceNotFoundError   404    service_resource_not_found
│   ├── MethodNotAllowedError   405    method_not_allowed
│   └── TooManyRequestsError    429    too_many_requests, with Retry-After
└── StoreError (RuntimeError)          the store failed; served as 503, never "allow"
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthError",
    "AuthenticationError",
    "BaasAuthError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "ExpiredTokenError",
    "ForbiddenError",
    "IllegalArgumentError",
    "InvalidClientCredentialsError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidTokenError",
    "MalformedTokenError",
    "MethodNotAllowedError",
    "NotFoundError",
    "RealmLostError",
    "ResourceNotFoundError",
    "RevokedTokenError",
    "StoreError",
    "TooManyRequestsError",
    "UnsupportedGrantTypeError",
]


class BaasAuthError(Exception):
    """Root of every error this library raises."""


class ConfigError(BaasAuthError, ValueError):
    """Bad configuration, raised by the call that introduced it (never while serving)."""


class NotFoundError(ConfigError, LookupError):
    """The org, app, user, role, group or client named in a call does not exist."""


class ConflictError(ConfigError):
    """The name is already taken (names are unique ignoring case)."""


class StoreError(BaasAuthError, RuntimeError):
    """The store failed or timed out. Served as 503; it never means "allow"."""

    status_code: ClassVar[int] = 503
    error: ClassVar[str] = "service_unavailable"


class RealmLostError(StoreError):
    """The store no longer holds the realm this process was serving: emptied, flushed,
    restored without it, or replaced by another realm's data. Served as 503 and logged as an
    error; nothing is re-created. Restore the store and the process serves again, without a
    restart (docs/deployment.md, "A lost store")."""


class AuthError(BaasAuthError):
    """A refusal of a request, carrying what the HTTP answer needs.

    Attributes:
        status_code: the HTTP status.
        error: the ``error`` code of the JSON body.
        error_description: the human-readable text of the body.
        challenge_error: the ``error=`` of the Bearer challenge, or None for a bare challenge.
        basic_challenge: whether a ``Basic`` challenge joins the Bearer one (RFC 6749 §5.2).
    """

    status_code: ClassVar[int] = 400
    default_error: ClassVar[str] = "invalid_request"
    default_description: ClassVar[str] = "The request is invalid"
    default_challenge: ClassVar[str | None] = None
    default_basic_challenge: ClassVar[bool] = False

    def __init__(
        self,
        description: str | None = None,
        *,
        error: str | None = None,
        challenge_error: str | bool | None = True,
        basic_challenge: bool | None = None,
    ) -> None:
        self.error = error or self.default_error
        self.error_description = description or self.default_description
        # True means "the class default"; None means "no error= in the challenge".
        self.challenge_error = (
            self.default_challenge if challenge_error is True else challenge_error or None
        )
        self.basic_challenge = (
            self.default_basic_challenge if basic_challenge is None else basic_challenge
        )
        super().__init__(self.error_description)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error!r}, {self.error_description!r})"


class BadRequestError(AuthError):
    """400: the request is malformed, conflicting or otherwise unacceptable."""

    status_code = 400
    default_error = "invalid_request"
    default_description = "The request is malformed"
    default_challenge: ClassVar[str | None] = "invalid_request"


class IllegalArgumentError(BadRequestError):
    """400 ``illegal_argument``: a parameter value is out of range (a bad ttl)."""

    default_error = "illegal_argument"
    default_description = "Illegal argument"
    default_challenge: ClassVar[str | None] = None


class InvalidGrantError(BadRequestError):
    """400 ``invalid_grant``: bad password, or an unknown, disabled or unactivated user."""

    default_error = "invalid_grant"
    default_description = "invalid username or password"
    default_challenge: ClassVar[str | None] = None


class UnsupportedGrantTypeError(BadRequestError):
    """400 ``unsupported_grant_type``."""

    default_error = "unsupported_grant_type"
    default_description = "Unsupported grant type"
    default_challenge: ClassVar[str | None] = None


class AuthenticationError(AuthError):
    """401: the caller is not authenticated for this application."""

    status_code = 401
    default_error = "unauthorized"
    default_description = "Unable to authenticate"
    default_challenge: ClassVar[str | None] = None


class InvalidTokenError(AuthenticationError):
    """401: an access token that does not authenticate."""

    default_error = "auth_invalid"
    default_description = "Unable to authenticate"
    default_challenge: ClassVar[str | None] = "invalid_token"


class MalformedTokenError(InvalidTokenError):
    """401 ``auth_bad_access_token``: unparsable, truncated, tampered or foreign token."""

    default_error = "auth_bad_access_token"
    default_description = "Unable to authenticate due to corrupt access token"


class ExpiredTokenError(InvalidTokenError):
    """401 ``expired_token``: the token's embedded expiry has passed."""

    default_error = "expired_token"
    default_description = "Unable to authenticate due to expired access token"


class RevokedTokenError(InvalidTokenError):
    """401 ``auth_invalid``: the token was revoked, or its record is unknown."""

    default_error = "auth_invalid"
    default_description = "Unable to authenticate"


class InvalidClientError(AuthenticationError):
    """401 ``invalid_client``: bad client_id/client_secret."""

    default_error = "invalid_client"
    default_description = "Unable to authenticate (OAuth)"
    default_challenge: ClassVar[str | None] = "invalid_token"


class InvalidClientCredentialsError(AuthenticationError):
    """401 ``auth_invalid_credentials``: bad client credentials in a Basic header."""

    default_error = "auth_invalid_credentials"
    default_description = "Unable to authenticate due to invalid client credentials"
    default_challenge: ClassVar[str | None] = "invalid_token"
    default_basic_challenge = True


class ForbiddenError(AuthError):
    """403: authenticated, but the rules do not allow the request."""

    status_code = 403
    default_error = "unauthorized"
    default_description = "Subject does not have permission to access this resource"
    default_challenge: ClassVar[str | None] = "insufficient_scope"


class ResourceNotFoundError(AuthError):
    """404: an endpoint names a user that does not exist (said only to callers allowed to know)."""

    status_code = 404
    default_error = "service_resource_not_found"
    default_description = "Resource not found"
    default_challenge: ClassVar[str | None] = None


class MethodNotAllowedError(AuthError):
    """405: a method outside GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS."""

    status_code = 405
    default_error = "method_not_allowed"
    default_description = "Method not allowed"
    default_challenge: ClassVar[str | None] = None


class TooManyRequestsError(AuthError):
    """429: too many failed password grants for one account; try again after ``retry_after``
    seconds (behaviour §6.2). The password was not checked."""

    status_code = 429
    default_error = "too_many_requests"
    default_description = "Too many failed attempts for this account; try again later"
    default_challenge: ClassVar[str | None] = None

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)
