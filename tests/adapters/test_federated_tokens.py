"""Identity provider tokens on the request path, on both adapters, with the provider's keys
served by a loopback key server (behaviour §8): who the caller becomes, the RFC 8725 refusals
(inner app never called), local control, provisioning, and a provider whose keys cannot be
fetched (503 for its tokens only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.conftest import Caller, MakeCaller, World, bearer
from tests.federation.kit import (
    AUDIENCE,
    ISSUER,
    KeyServer,
    SigningKey,
    claims,
    ec_key,
    header_for,
    hmac_token,
    jwks,
    key_server,
    rsa_key,
    sign,
    sign_with_header,
    unsigned,
)

SHOP = "/acme/shop/books"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return rsa_key()


@pytest.fixture
def keys(key: SigningKey) -> Iterator[KeyServer]:
    with key_server() as server:
        server.serve(jwks(key))
        yield server


@pytest.fixture
def trusting(world: World, keys: KeyServer, make: MakeCaller) -> Caller:
    """The shop trusts the provider (username from ``sub``, roles from ``roles``)."""
    world.realm.add_identity_provider(
        "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
        roles_claim="roles",
    )
    return make()


def token(key: SigningKey, **changes: object) -> str:
    return sign(key, "RS256", claims(**changes))


def refused(caller: Caller, tok: str, status: int = 401) -> dict[str, object]:
    response = caller.get(SHOP, headers=bearer(tok))
    assert response.status_code == status, response.text
    assert not caller.called
    body: dict[str, object] = response.json()
    return body


def test_a_local_users_provider_token_is_that_user(
    world: World, trusting: Caller, key: SigningKey
) -> None:
    response = trusting.get(SHOP, headers=bearer(token(key)))
    assert response.status_code == 200, response.text
    principal = trusting.last.principal
    assert principal is not None
    assert (principal.kind, principal.username) == ("app_user", "alice")
    assert principal.uuid == world.uuids["alice"]


def test_the_query_parameter_carries_one_too(trusting: Caller, key: SigningKey) -> None:
    response = trusting.get(f"{SHOP}?access_token={token(key)}")
    assert response.status_code == 200, response.text


def test_a_remembered_token_is_not_verified_again(
    trusting: Caller, keys: KeyServer, key: SigningKey
) -> None:
    tok = token(key)
    for _ in range(3):
        assert trusting.get(SHOP, headers=bearer(tok)).status_code == 200
    assert len(keys.hits) == 1  # one fetch of the key set for every request


def test_a_stranger_gets_the_default_role_and_mapped_roles(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    realm = world.realm
    realm.create_role("acme", "vault", "readers")
    realm.grant("acme", "vault", "get:/Books/**", role="readers")
    realm.add_identity_provider(
        "acme", "vault", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
        roles_claim="roles", role_map={"idp-readers": "readers", "idp-x": "nothing-here"},
    )
    caller = make()
    reader = token(key, sub="rita", roles=["idp-readers", "idp-x"])
    assert caller.get("/acme/vault/Books/1", headers=bearer(reader)).status_code == 200
    principal = caller.last.principal
    assert principal is not None
    assert principal.username == "rita"
    other = token(key, sub="otto", roles=["idp-x"])
    assert caller.get("/acme/vault/Books/1", headers=bearer(other)).status_code == 403
    with pytest.raises(Exception, match="rita"):
        realm.get_user("acme", "vault", "rita")  # not provisioned


def test_provisioning_creates_the_user_on_first_sight(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    world.realm.add_identity_provider(
        "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url, provision=True,
    )
    caller = make()
    assert caller.get(SHOP, headers=bearer(token(key, sub="newcomer"))).status_code == 200
    user = world.realm.get_user("acme", "shop", "newcomer")
    principal = caller.last.principal
    assert principal is not None
    assert principal.uuid == user.uuid


def test_a_token_of_another_apps_provider_is_refused(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    world.realm.add_identity_provider(
        "acme", "vault", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
    )
    body = refused(make(), token(key))
    assert body["error"] == "auth_bad_access_token"


def test_an_unknown_issuer_is_401(trusting: Caller, key: SigningKey) -> None:
    body = refused(trusting, token(key, iss="https://elsewhere.example.com/"))
    assert body["error"] == "auth_bad_access_token"


def test_an_expired_token_is_expired_token(trusting: Caller, key: SigningKey) -> None:
    response = trusting.get(SHOP, headers=bearer(token(key, exp=1_800_000_000 - 100)))
    assert response.status_code == 401
    assert response.json()["error"] == "expired_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert not trusting.called


def _rfc8725_cases(key: SigningKey, other: SigningKey, stranger: SigningKey) -> dict[str, str]:
    good = claims()
    return {
        "alg none": unsigned({"alg": "none", "typ": "JWT"}, good),
        "hs256 with the public key": hmac_token(key.pem(), header_for(key, "HS256"), good),
        "alg outside the allow-list": sign(key, "PS256", good),
        "key type does not fit alg": sign_with_header(other, "ES256",
                                                      header_for(key, "ES256"), good),
        "bad signature": token(key)[:-6] + "AAAAAA",
        "signed by another key": sign_with_header(stranger, "RS256", header_for(key, "RS256"),
                                                  good),
        "wrong aud": token(key, aud="someone-else"),
        "no aud": token(key, aud=None),
        "no exp": token(key, exp=None),
        "nbf in the future": token(key, nbf=1_800_000_000 + 120),
        "iat in the future": token(key, iat=1_800_000_000 + 120),
        "typ unexpected": sign(key, "RS256", good, typ="JOSE+JSON"),
        "crit header": sign(key, "RS256", good, crit=["exp"]),
        "oversized": token(key, padding="x" * 9000),
        "embedded jwk": sign(stranger, "RS256", good, kid=None, jwk=stranger.jwk()),
    }


_CASES = sorted(_rfc8725_cases(rsa_key("k"), ec_key("k"), rsa_key("k")))


@pytest.mark.parametrize("case", _CASES)
def test_rfc8725_refusals(trusting: Caller, key: SigningKey, case: str) -> None:
    other = SigningKey(ec_key(key.kid).private, key.kid)
    stranger = SigningKey(rsa_key(key.kid).private, key.kid)
    refused(trusting, _rfc8725_cases(key, other, stranger)[case])


def test_jku_and_x5u_are_never_contacted(trusting: Caller, key: SigningKey) -> None:
    with key_server() as elsewhere:
        elsewhere.serve(jwks(key))
        for name in ("jku", "x5u"):
            other = rsa_key()
            tok = sign_with_header(
                other, "RS256", {**header_for(other, "RS256"), name: elsewhere.url}, claims()
            )
            refused(trusting, tok)
        assert elsewhere.hits == []


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("action", ["disable", "delete", "revoke_all"])
def test_local_control_refuses_tokens_issued_before(
    world: World, trusting: Caller, key: SigningKey, action: str, store_kind: str
) -> None:
    before = token(key)
    assert trusting.get(SHOP, headers=bearer(before)).status_code == 200
    realm = world.realm
    if action == "disable":
        realm.update_user("acme", "shop", "alice", disabled=True)
    elif action == "delete":
        realm.delete_user("acme", "shop", "alice")
    else:
        realm.revoke_user_tokens("acme", "shop", "alice")
    trusting.calls.clear()
    refused(trusting, before)
    refused(trusting, token(key, iat=None))  # no iat: its age is unknown, refused
    world.clock.advance_ms(2000)
    later = token(key, iat=1_800_000_002)
    if action == "disable":
        refused(trusting, later)  # a disabled user is refused whatever the token
    else:
        assert trusting.get(SHOP, headers=bearer(later)).status_code == 200


def test_keys_never_obtained_is_503_for_that_provider_only(
    world: World, make: MakeCaller, key: SigningKey
) -> None:
    with key_server() as down:
        down.serve({}, status=500)
        world.realm.add_identity_provider(
            "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=down.url,
        )
        caller = make()
        assert caller.get(SHOP, headers=bearer(token(key))).status_code == 503
        assert not caller.called
        assert caller.get(SHOP, headers=bearer(world.token("alice"))).status_code == 200


def test_a_removed_provider_is_refused_from_the_next_request(
    world: World, trusting: Caller, key: SigningKey
) -> None:
    tok = token(key)
    assert trusting.get(SHOP, headers=bearer(tok)).status_code == 200
    world.realm.remove_identity_provider("acme", "shop", ISSUER)
    trusting.calls.clear()
    refused(trusting, tok)


def test_an_async_realm_verifies_on_its_loop_and_fetches_off_it(
    async_world: World, make_async: MakeCaller, keys: KeyServer, key: SigningKey
) -> None:
    async_world.realm.add_identity_provider(
        "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
    )
    caller = make_async()
    response = caller.get(SHOP, headers=bearer(token(key)))
    assert response.status_code == 200, response.text
    principal = caller.last.principal
    assert principal is not None
    assert principal.uuid == async_world.uuids["alice"]
    async_world.realm.revoke_user_tokens("acme", "shop", "alice")
    caller.calls.clear()
    refused(caller, token(key))


def test_a_refusal_for_a_kid_the_keys_lack_is_never_remembered() -> None:
    """The provider may publish the key once the cooldown ends, with no change in the store:
    the refusal must not be recalled under the same change stamp."""
    from baas_auth.core.jwt_tokens import UnknownKeyIdError
    from baas_auth.errors import MalformedTokenError
    from baas_auth.middleware.freshness import may_remember_refusal

    assert not may_remember_refusal(UnknownKeyIdError())
    assert may_remember_refusal(MalformedTokenError())


class _RecordingOpener:
    """The key fetcher's opener, recording the thread of every fetch."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.threads: list[int] = []

    def open(self, *args: object, **kwargs: object) -> object:
        import threading

        self.threads.append(threading.get_ident())
        return self.inner.open(*args, **kwargs)  # type: ignore[attr-defined]


def test_keys_are_fetched_off_the_event_loop(
    async_world: World, make_async: MakeCaller, keys: KeyServer, key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from baas_auth.federation import jwks_fetch

    opener = _RecordingOpener(jwks_fetch._OPENER)
    monkeypatch.setattr(jwks_fetch, "_OPENER", opener)
    async_world.realm.add_identity_provider(
        "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
    )
    caller = make_async()
    assert caller.get(SHOP, headers=bearer(token(key))).status_code == 200

    async def loop_thread() -> int:
        import threading

        return threading.get_ident()

    loop_ident = caller.run_asgi(loop_thread())
    assert opener.threads
    assert loop_ident not in opener.threads


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_local_control_reaches_another_process_sharing_the_file(
    world: World, trusting: Caller, key: SigningKey, tmp_path: object, store_kind: str
) -> None:
    """Another realm over the same SQLite file (another process's connection) revokes: the
    first middleware refuses the provider token at its next request."""
    from pathlib import Path

    from baas_auth import Realm, SQLiteStore
    from tests.conftest import FAST_HASHER

    tok = token(key)
    assert trusting.get(SHOP, headers=bearer(tok)).status_code == 200
    assert isinstance(tmp_path, Path)
    other = Realm(SQLiteStore(tmp_path / "auth.db"), clock=world.clock,
                  password_hasher=FAST_HASHER)
    try:
        other.revoke_user_tokens("acme", "shop", "alice")
    finally:
        other.close()
    trusting.calls.clear()
    refused(trusting, tok)


def test_a_slow_key_endpoint_never_delays_other_requests_on_the_loop(
    async_world: World, make_async: MakeCaller, keys: KeyServer, key: SigningKey
) -> None:
    import asyncio
    import threading

    import httpx

    from tests.adapters.conftest import BASE

    async_world.realm.add_identity_provider(
        "acme", "shop", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
    )
    own = async_world.token("bob")
    caller = make_async()
    keys.hold = threading.Event()

    async def both() -> tuple[int, int, bool]:
        transport = httpx.ASGITransport(app=caller.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            slow = asyncio.ensure_future(client.get(SHOP, headers=bearer(token(key))))
            assert await asyncio.to_thread(keys.wait_for_hits, 1)  # the fetch is in flight
            fast = await client.get(SHOP, headers=bearer(own))
            still_waiting = not slow.done()
            assert keys.hold is not None
            keys.hold.set()
            return fast.status_code, (await slow).status_code, still_waiting

    fast, slow, still_waiting = caller.run_asgi(both())
    assert (fast, slow, still_waiting) == (200, 200, True)


def test_a_directory_change_keeps_the_fetched_keys(
    world: World, trusting: Caller, keys: KeyServer, key: SigningKey
) -> None:
    """A new change stamp re-reads the app's providers, but an unchanged provider keeps its
    key set: no fetch per directory write."""
    assert trusting.get(SHOP, headers=bearer(token(key))).status_code == 200
    world.realm.create_user("acme", "shop", "carol", password="another password")
    assert trusting.get(SHOP, headers=bearer(token(key, sub="carol"))).status_code == 200
    assert len(keys.hits) == 1


@pytest.mark.parametrize("store_kind", ["memory", "sqlite", "redis"])
def test_a_visitor_gets_the_rules_of_the_groups_its_claim_names(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey, store_kind: str
) -> None:
    """Groups the app has apply (with or without the leading ``/``); others are ignored."""
    realm = world.realm
    realm.create_group("acme", "vault", "/staff")
    realm.grant("acme", "vault", "get:/Staff/**", group="/staff")
    realm.create_group("acme", "vault", "/editors")
    realm.grant("acme", "vault", "put:/Staff/**", group="/editors")
    realm.add_identity_provider(
        "acme", "vault", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
        groups_claim="groups",
    )
    caller = make()
    staff = token(key, sub="sam", groups=["/staff", "/nope", "not a path", "editors"])
    assert caller.get("/acme/vault/Staff/1", headers=bearer(staff)).status_code == 200
    assert caller.put("/acme/vault/Staff/1", headers=bearer(staff)).status_code == 200
    outsider = token(key, sub="olga", groups=["/nope"])
    assert caller.get("/acme/vault/Staff/1", headers=bearer(outsider)).status_code == 403


def test_a_store_that_is_down_makes_a_forged_token_503_not_401(
    world: World, trusting: Caller, key: SigningKey
) -> None:
    """Fail closed: which issuers the app trusts is in the store; nothing is decided without
    it (docs/federation.md, security reasoning)."""
    world.store.down = True
    forged = token(key)[:-6] + "AAAAAA"
    response = trusting.get(SHOP, headers=bearer(forged))
    assert response.status_code == 503, response.text
    assert not trusting.called


def test_a_visitors_tokens_with_fewer_roles_never_borrow_another_tokens_roles(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    """Two tokens of one subject, with different roles, in one change stamp: each is
    authorized with its own roles (a visitor's rules are kept per subject and claims)."""
    realm = world.realm
    realm.create_role("acme", "vault", "readers")
    realm.grant("acme", "vault", "get:/Books/**", role="readers")
    realm.add_identity_provider(
        "acme", "vault", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
        roles_claim="roles",
    )
    caller = make()
    plain = token(key, sub="rita", jti="a")
    reader = token(key, sub="rita", roles=["readers"], jti="b")
    assert caller.get("/acme/vault/Books/1", headers=bearer(plain)).status_code == 403
    assert caller.get("/acme/vault/Books/1", headers=bearer(reader)).status_code == 200
    assert caller.get("/acme/vault/Books/2", headers=bearer(plain)).status_code == 403


def test_a_route_guard_sees_the_roles_a_visitors_token_names(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    """``require(role=…)`` asks ``holds_role`` after the middleware's allow: for a visitor (no
    local user) it must answer from the roles the token names, as the rules did, not refuse
    because no stored user has them."""
    realm = world.realm
    realm.create_role("acme", "vault", "readers")
    realm.grant("acme", "vault", "get:/Books/**", role="readers")
    realm.add_identity_provider(
        "acme", "vault", issuer=ISSUER, audience=AUDIENCE, jwks_url=keys.url,
        roles_claim="roles",
    )
    caller = make()
    reader = token(key, sub="rita", roles=["readers"])
    assert caller.get("/acme/vault/Books/1", headers=bearer(reader)).status_code == 200
    principal = caller.last.principal
    assert principal is not None
    assert realm.holds_role(principal, "readers", org="acme", app="vault")
    assert realm.holds_role(principal, "default", org="acme", app="vault")
    assert not realm.holds_role(principal, "editors", org="acme", app="vault")
    assert not realm.holds_role(principal, "readers", org="acme", app="shop")
    plain = token(key, sub="rita", jti="other")  # the same subject, no role: another visitor
    assert caller.get("/acme/vault/Books/1", headers=bearer(plain)).status_code == 403
