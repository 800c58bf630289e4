"""The token format: issue, verify, tamper, expiry, TTL rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baas_auth.core.tokens import (
    DEFAULT_MAX_TTL_MS,
    SigningKey,
    expires_at,
    expires_in_seconds,
    issue_token,
    resolve_ttl_ms,
    verify_token,
)
from baas_auth.errors import (
    ConfigError,
    ExpiredTokenError,
    IllegalArgumentError,
    MalformedTokenError,
)

KEY = SigningKey.generate()
KEYS = {KEY.kid_bytes: KEY}
NOW = 1_800_000_000_000


def test_issued_token_verifies_and_names_its_record():
    token, token_id = issue_token(KEY, expires_at_ms=NOW + 1000)
    verified = verify_token(token, KEYS, now_ms=NOW)
    assert verified.token_id == token_id
    assert verified.kid == KEY.kid
    assert verified.expires_at_ms == NOW + 1000


def test_token_is_token68_and_does_not_contain_its_id():
    token, token_id = issue_token(KEY, expires_at_ms=None)
    assert len(token) == 87
    assert all(c.isalnum() or c in "-_" for c in token)
    assert token_id not in token


def test_tokens_are_unique():
    assert len({issue_token(KEY, expires_at_ms=None)[0] for _ in range(200)}) == 200


@pytest.mark.parametrize(
    ("offset", "expired"),
    [(-1, False), (0, True), (1, True)],
    ids=["one-ms-before", "at-expiry", "after"],
)
def test_expiry_edges(offset, expired):
    token, _ = issue_token(KEY, expires_at_ms=NOW)
    if expired:
        with pytest.raises(ExpiredTokenError):
            verify_token(token, KEYS, now_ms=NOW + offset)
    else:
        verify_token(token, KEYS, now_ms=NOW + offset)


def test_never_expiring_token_verifies_far_in_the_future():
    token, _ = issue_token(KEY, expires_at_ms=None)
    assert verify_token(token, KEYS, now_ms=2**62).expires_at_ms is None


def test_expired_token_may_be_read_for_revocation():
    token, token_id = issue_token(KEY, expires_at_ms=NOW)
    assert verify_token(token, KEYS, now_ms=NOW * 2, allow_expired=True).token_id == token_id


def test_foreign_key_is_malformed():
    token, _ = issue_token(SigningKey.generate(), expires_at_ms=None)
    with pytest.raises(MalformedTokenError):
        verify_token(token, KEYS, now_ms=NOW)


def test_same_kid_other_secret_is_malformed():
    impostor = SigningKey(KEY.kid, b"x" * 32)
    token, _ = issue_token(impostor, expires_at_ms=None)
    with pytest.raises(MalformedTokenError):
        verify_token(token, KEYS, now_ms=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: "",
        lambda t: t.replace(t[10], "!" if t[10] != "!" else "?"),
        lambda t: t[:40] + "=" + t[41:],
        lambda t: t + "==",
        lambda t: " " + t[1:],
        lambda t: "é" + t[1:],
    ],
    ids=[
        "truncated",
        "extended",
        "empty",
        "bad-char",
        "inner-padding",
        "padded",
        "space",
        "unicode",
    ],
)
def test_mangled_tokens_are_malformed(mangle):
    token, _ = issue_token(KEY, expires_at_ms=None)
    with pytest.raises(MalformedTokenError):
        verify_token(mangle(token), KEYS, now_ms=NOW)


@given(
    position=st.integers(0, 86),
    replacement=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
)
def test_any_changed_character_never_verifies(position, replacement):
    token, _ = issue_token(KEY, expires_at_ms=NOW + 10_000)
    if token[position] == replacement:
        return
    changed = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(MalformedTokenError):
        verify_token(changed, KEYS, now_ms=NOW)


@given(position=st.integers(0, 64), bit=st.integers(0, 7))
def test_any_flipped_bit_never_verifies(position, bit):
    import base64

    token, _ = issue_token(KEY, expires_at_ms=NOW + 10_000)
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    raw[position] ^= 1 << bit
    changed = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(MalformedTokenError):
        verify_token(changed, KEYS, now_ms=NOW)


@pytest.mark.parametrize(
    ("requested", "ceiling", "expected"),
    [
        (None, DEFAULT_MAX_TTL_MS, DEFAULT_MAX_TTL_MS),
        (0, DEFAULT_MAX_TTL_MS, DEFAULT_MAX_TTL_MS),
        (1, DEFAULT_MAX_TTL_MS, 1),
        (DEFAULT_MAX_TTL_MS, DEFAULT_MAX_TTL_MS, DEFAULT_MAX_TTL_MS),
        (0, None, None),
        (5000, None, 5000),
        (10**15, None, 10**15),
    ],
    ids=[
        "omitted",
        "zero-is-max",
        "one-ms",
        "exactly-max",
        "no-ceiling-zero-never",
        "no-ceiling-explicit",
        "no-ceiling-huge",
    ],
)
def test_resolve_ttl(requested, ceiling, expected):
    assert resolve_ttl_ms(requested, ceiling_ms=ceiling) == expected


@pytest.mark.parametrize(
    "requested",
    [DEFAULT_MAX_TTL_MS + 1, -1, "1000", 1.5, True, [1]],
    ids=["above-ceiling", "negative", "string", "float", "bool", "list"],
)
def test_resolve_ttl_refuses(requested):
    with pytest.raises(IllegalArgumentError) as caught:
        resolve_ttl_ms(requested, ceiling_ms=DEFAULT_MAX_TTL_MS)
    assert caught.value.error == "illegal_argument"
    assert caught.value.status_code == 400


def test_ceiling_message_names_the_maximum():
    with pytest.raises(IllegalArgumentError, match="maximum age of 604800000 milliseconds"):
        resolve_ttl_ms(DEFAULT_MAX_TTL_MS + 1, ceiling_ms=DEFAULT_MAX_TTL_MS)


def test_expiry_arithmetic_never_overflows_the_format():
    assert expires_at(NOW, None) is None
    assert expires_at(NOW, 10**30) == 2**63 - 1
    token, _ = issue_token(KEY, expires_at_ms=expires_at(NOW, 10**30))
    verify_token(token, KEYS, now_ms=NOW)


def test_expires_in_is_whole_seconds():
    assert expires_in_seconds(604_800_000) == 604_800
    assert expires_in_seconds(1500) == 1
    assert expires_in_seconds(None) is None


@pytest.mark.parametrize(
    ("kid", "secret"),
    [("short", b"x" * 32), ("AAAAAAAA", b"x" * 31), ("!!!!!!!!", b"x" * 32)],
    ids=["kid-length", "secret-length", "kid-chars"],
)
def test_bad_signing_keys_are_config_errors(kid, secret):
    with pytest.raises(ConfigError):
        SigningKey(kid, secret)


def test_signing_key_repr_hides_secret():
    assert KEY.secret.hex() not in repr(KEY)


def test_generated_key_ids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key id starting with "-" would read as an option in `baas-auth retire-key KID`."""
    draws = iter([b"\xf8" + bytes(5), b"\x04" + bytes(5), bytes(32)])
    monkeypatch.setattr("baas_auth.core.tokens.secrets.token_bytes", lambda n: next(draws))
    key = SigningKey.generate()
    assert key.kid == "BAAAAAAA"  # the first draw, "-AAAAAAA", was drawn again
