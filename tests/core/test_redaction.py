"""Secrets never reach a log line."""

from __future__ import annotations

import logging

import pytest

from baas_auth.redaction import RedactSecretsFilter, redact

SECRET = "AVziSd4VBkz-cdKIpuY6PCUbBF_99y3YFAAAAaJIknm"


@pytest.mark.parametrize(
    "line",
    [
        f'"GET /acme/shop/books?access_token={SECRET}&page=2 HTTP/1.1" 200',
        f'"GET /x?client_id=b3U6abc&client_secret={SECRET} HTTP/1.1" 200',
        f"GET /x?access%5Ftoken={SECRET}",
        f"GET /b?%61ccess_token={SECRET}",
        f"GET /b?acc%65ss_token={SECRET}&x=1",
        f"GET /x?ACCESS_TOKEN={SECRET}",
        f"POST /token grant_type=password&username=alice&password={SECRET}",
        f"PUT /users/me/revoketoken?token={SECRET}",
        f"Authorization: Bearer {SECRET}",
        f"authorization=Basic {SECRET}",
        f"{{'authorization': 'Bearer {SECRET}'}}",
        f"headers: [(b'authorization', b'Bearer {SECRET}')]",
    ],
    ids=[
        "query-token",
        "client-secret",
        "encoded-name",
        "encoded-a",
        "encoded-e",
        "upper-name",
        "form-password",
        "revoke-token",
        "header",
        "basic",
        "dict-repr",
        "asgi-headers",
    ],
)
def test_secrets_are_masked(line: str):
    cleaned = redact(line)
    assert SECRET not in cleaned
    assert "***" in cleaned


@pytest.mark.parametrize(
    "line",
    ["GET /books?page=2&tokens_left=5 HTTP/1.1", "mytoken=abc", "the password policy changed"],
    ids=["other-params", "suffix-name", "prose"],
)
def test_other_text_is_untouched(line: str):
    assert redact(line) == line


def test_filter_rewrites_formatted_records_and_keeps_them(caplog: pytest.LogCaptureFixture):
    logger = logging.getLogger("baas-auth-test.access")
    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO, logger="baas-auth-test.access"):
        logger.info('%s - "GET %s HTTP/1.1" %d', "127.0.0.1", f"/x?access_token={SECRET}", 200)
    assert len(caplog.records) == 1
    assert SECRET not in caplog.records[0].getMessage()
    assert "access_token=***" in caplog.records[0].getMessage()
