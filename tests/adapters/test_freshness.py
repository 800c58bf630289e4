"""The caches of the request path (``baas_auth.middleware.freshness``) on their own: what each
keeps, what it never keeps, and its bound. The middleware's use of them, and that the change
which should end each does, is tested through the adapters (``test_caching.py``)."""

from __future__ import annotations

import base64

import pytest

from baas_auth.core.credentials import BearerToken, ClientSecretPair, extract_credential
from baas_auth.core.http import RequestInfo
from baas_auth.errors import AuthenticationError, BadRequestError
from baas_auth.middleware.freshness import CACHE_SIZE, BearerHeaders


def request(query: bytes = b"", *headers: tuple[str, str]) -> RequestInfo:
    return RequestInfo("GET", "/x", None, query, headers)


def basic(text: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(text.encode()).decode())


# -- Authorization values parsed once -------------------------------------------------------


@pytest.mark.parametrize("header", ["Bearer abc", "bearer abc", "Basic " + "Zm9vOmJhcg=="])
def test_remembered_headers_parse_as_the_plain_extraction_does(header: str) -> None:
    headers = BearerHeaders()
    plain = extract_credential(request(b"", ("authorization", header)))
    for _ in range(2):
        found = extract_credential(
            request(b"", ("authorization", header)), parse_authorization=headers.parse
        )
        assert found == plain


def test_basic_secrets_are_never_remembered() -> None:
    headers = BearerHeaders()
    header = basic("client:s3cret-value")[1]
    assert headers.parse(header) == ClientSecretPair("client", "s3cret-value", "basic")
    assert len(headers) == 0
    assert headers.parse("Bearer abc") == BearerToken("abc", "header")
    assert not headers.holds("s3cret")


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Bearer", BadRequestError),
        ("Bearer  abc", BadRequestError),
        ("Digest x", AuthenticationError),
    ],
)
def test_a_bad_header_is_refused_every_time(header: str, error: type[Exception]) -> None:
    headers = BearerHeaders()
    for _ in range(2):
        with pytest.raises(error):
            headers.parse(header)
    assert len(headers) == 0


def test_remembered_headers_are_bounded() -> None:
    headers = BearerHeaders()
    for index in range(CACHE_SIZE + 10):
        assert headers.parse(f"Bearer t{index}") == BearerToken(f"t{index}", "header")
    assert 0 < len(headers) <= CACHE_SIZE
