"""Org-level identity providers on ``/management``, on both adapters and every store
(behaviour §8): a provider of an org signs in that org's existing admin users by the email its
token names, never creates one, speaks for its own org only, and local control (disable,
delete, revoke-all, a new address) refuses its tokens issued before, in every process."""

from __future__ import annotations

import pytest

from baas_auth import Realm
from tests.adapters.conftest import Caller, MakeCaller, World, bearer
from tests.adapters.test_federated_tokens import key, keys  # the provider's key, served
from tests.federation.kit import ISSUER, KeyServer, SigningKey, claims, sign

__all__ = ["key", "keys"]  # fixtures, shared with the app-level providers' tests

ADMINS = "acme-admins"
ORG_PAGE = "/management/orgs/acme"


def trust(realm: Realm, keys: KeyServer, org: str = "acme", audience: str = ADMINS) -> None:
    realm.add_identity_provider(org, None, issuer=ISSUER, audience=audience, jwks_url=keys.url)


@pytest.fixture
def trusting(world: World, keys: KeyServer, make: MakeCaller) -> Caller:
    """acme's admins sign in with the provider (the email claim, by default)."""
    trust(world.realm, keys)
    return make()


def token(key: SigningKey, **changes: object) -> str:
    base: dict[str, object] = {"sub": "u-ann", "email": "ann@example.com", "aud": ADMINS}
    base.update(changes)
    return sign(key, "RS256", claims(**base))


def refused(caller: Caller, tok: str, path: str = ORG_PAGE) -> dict[str, object]:
    response = caller.get(path, headers=bearer(tok))
    assert response.status_code == 401, response.text
    assert not caller.called
    body: dict[str, object] = response.json()
    return body


def test_an_org_level_provider_names_the_admin_claim_email_by_default(
    world: World, keys: KeyServer
) -> None:
    trust(world.realm, keys)
    [provider] = world.realm.identity_providers("acme", None)
    assert provider.username_claim == "email"


@pytest.mark.parametrize("store_kind", ["memory", "sqlite", "redis"])
def test_an_admin_is_signed_in_by_the_email_claim(
    world: World, trusting: Caller, key: SigningKey, store_kind: str
) -> None:
    response = trusting.get(ORG_PAGE, headers=bearer(token(key)))
    assert response.status_code == 200, response.text
    principal = trusting.last.principal
    assert principal is not None
    assert (principal.kind, principal.username, principal.orgs) == (
        "admin_user", "ann", frozenset({"acme"})
    )
    me = trusting.get("/management/me", headers=bearer(token(key)))
    assert me.status_code == 200, me.text


def test_the_email_matches_whatever_its_case(trusting: Caller, key: SigningKey) -> None:
    response = trusting.get(ORG_PAGE, headers=bearer(token(key, email="Ann@Example.COM")))
    assert response.status_code == 200, response.text


def test_an_unknown_email_is_401_and_no_admin_is_created(
    world: World, trusting: Caller, key: SigningKey
) -> None:
    refused(trusting, token(key, email="nobody@example.com"))
    with pytest.raises(Exception, match="nobody"):
        world.realm.get_admin("nobody@example.com")


def test_a_username_is_not_an_email(world: World, trusting: Caller, key: SigningKey) -> None:
    """An admin whose username is shaped like an address is not found by it."""
    world.realm.create_admin("bo@example.com", password="a long password here", orgs=["acme"])
    refused(trusting, token(key, email="bo@example.com"))


def test_an_unverified_email_names_nobody(trusting: Caller, key: SigningKey) -> None:
    refused(trusting, token(key, email_verified=False))


def test_an_app_level_provider_does_not_sign_in_admins(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    world.realm.add_identity_provider("acme", "shop", issuer=ISSUER, audience=ADMINS,
                                      jwks_url=keys.url, username_claim="email")
    refused(make(), token(key))


def test_a_provider_speaks_for_its_own_org_only(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    """ann administers acme and globex; globex's provider signs her in for globex alone."""
    world.realm.add_admin_to_org("ann", "globex")
    trust(world.realm, keys, org="globex", audience="globex-admins")
    caller = make()
    globex = token(key, aud="globex-admins")
    response = caller.get("/management/orgs/globex", headers=bearer(globex))
    assert response.status_code == 200, response.text
    principal = caller.last.principal
    assert principal is not None
    assert principal.orgs == frozenset({"globex"})
    caller.calls.clear()
    refused(caller, token(key))  # acme's audience: acme trusts no provider


def test_an_admin_of_another_org_only_is_refused(
    world: World, keys: KeyServer, make: MakeCaller, key: SigningKey
) -> None:
    world.realm.set_admin_email("gus", "gus@example.com")
    trust(world.realm, keys)  # acme's provider; gus administers globex only
    world.clock.advance_ms(2000)
    refused(make(), token(key, email="gus@example.com", iat=1_800_000_001))


def test_an_expired_token_is_expired_token(trusting: Caller, key: SigningKey) -> None:
    body = refused(trusting, token(key, exp=1_800_000_000 - 100))
    assert body["error"] == "expired_token"


@pytest.mark.parametrize("store_kind", ["memory", "sqlite", "redis"])
@pytest.mark.parametrize("action", ["disable", "delete", "revoke_all", "deactivate"])
def test_local_control_refuses_tokens_issued_before(
    world: World, trusting: Caller, key: SigningKey, action: str, store_kind: str
) -> None:
    before = token(key)
    assert trusting.get(ORG_PAGE, headers=bearer(before)).status_code == 200
    realm = world.realm
    if action == "disable":
        realm.update_admin("ann", disabled=True)
    elif action == "deactivate":
        realm.update_admin("ann", activated=False)
    elif action == "delete":
        realm.delete_admin("ann")
    else:
        realm.revoke_admin_tokens("ann")
    trusting.calls.clear()
    refused(trusting, before)
    refused(trusting, token(key, iat=None))  # no iat: its age is unknown
    world.clock.advance_ms(2000)
    later = token(key, iat=1_800_000_002)
    if action == "revoke_all":
        assert trusting.get(ORG_PAGE, headers=bearer(later)).status_code == 200
    else:
        refused(trusting, later)  # disabled, inactive or gone: whatever the token


def test_revoking_all_through_the_endpoint_refuses_the_provider_token(
    trusting: Caller, key: SigningKey
) -> None:
    tok = token(key)
    response = trusting.put("/management/users/ann/revoketokens", headers=bearer(tok))
    assert response.status_code == 200, response.text
    refused(trusting, tok)


def test_a_new_address_refuses_tokens_issued_for_it_before(
    world: World, trusting: Caller, key: SigningKey
) -> None:
    """The address named someone else when those tokens were issued."""
    early = token(key, email="ann.new@example.com")
    world.clock.advance_ms(2000)
    world.realm.set_admin_email("ann", "ann.new@example.com")
    refused(trusting, early)
    world.clock.advance_ms(2000)
    later = token(key, email="ann.new@example.com", iat=1_800_000_004)
    assert trusting.get(ORG_PAGE, headers=bearer(later)).status_code == 200


def test_on_an_async_realm(
    async_world: World, make_async: MakeCaller, keys: KeyServer, key: SigningKey
) -> None:
    trust(async_world.realm, keys)
    caller = make_async()
    tok = token(key)
    response = caller.get(ORG_PAGE, headers=bearer(tok))
    assert response.status_code == 200, response.text
    principal = caller.last.principal
    assert principal is not None
    assert principal.kind == "admin_user"
    async_world.realm.update_admin("ann", disabled=True)
    caller.calls.clear()
    refused(caller, tok)


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_local_control_reaches_another_process_sharing_the_file(
    world: World, trusting: Caller, key: SigningKey, tmp_path: object, store_kind: str
) -> None:
    from pathlib import Path

    from baas_auth import SQLiteStore
    from tests.conftest import FAST_HASHER

    tok = token(key)
    assert trusting.get(ORG_PAGE, headers=bearer(tok)).status_code == 200
    assert isinstance(tmp_path, Path)
    other = Realm(SQLiteStore(tmp_path / "auth.db"), clock=world.clock,
                  password_hasher=FAST_HASHER)
    try:
        other.revoke_admin_tokens("ann")
    finally:
        other.close()
    trusting.calls.clear()
    refused(trusting, tok)
