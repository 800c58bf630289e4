"""A remembered refusal of a valid token ends with the token's expiry, as an admission does.

A 403 rests on the token being valid: once the expiry written in it has passed, the answer is
401 ``expired_token`` (behaviour §4), which tells a client to get a new token, never the 403 it was
given before. Found by the revocation checker (tests/revocation): a token with a short life,
refused on a path its user may not use, kept getting 403 after it had expired.
"""

from __future__ import annotations

import pytest

from tests.adapters.conftest import MakeCaller, World, bearer
from tests.conftest import FakeClock

FORBIDDEN = "/acme/vault/other"  # victor may get /Books/** and put /notes/* only


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_recalled_refusal_of_an_expired_token_is_401_expired(
    make: MakeCaller, world: World, clock: FakeClock
) -> None:
    caller = make()
    token = world.token("victor", ttl_ms=1000)
    for _ in range(3):  # decided, remembered, recalled
        assert caller.get(FORBIDDEN, headers=bearer(token)).status_code == 403
    clock.advance_ms(1000)  # only the clock moves: the stamp is the same
    answer = caller.get(FORBIDDEN, headers=bearer(token))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "expired_token"
    assert not caller.called
