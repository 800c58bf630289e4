"""Hole 1 of the first release: impersonation through the identifier namespace (SPEC §1 rev 2).

A user could be created whose username was another user's uuid or email; then the attacker's
``me`` matched ``/users/<victim-uuid>/**``, and Realm calls given the victim's uuid acted on
the attacker. Usernames, emails and uuids now form one namespace, usernames never look like a
uuid, and every identifier resolves to exactly one user.
"""

from __future__ import annotations

import pytest

from baas_auth.errors import ConfigError, ConflictError, InvalidGrantError
from tests.adapters.conftest import PASSWORD, MakeCaller, World, bearer

VICTIM_EMAIL = "alice@example.com"


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _uuid_spellings(uuid: str) -> list[str]:
    """The spellings of a uuid that the username grammar would otherwise allow."""
    return [uuid, uuid.upper(), uuid.replace("-", ""), uuid.replace("-", "").upper()]


def test_a_username_may_not_be_another_users_uuid(world: World) -> None:
    victim = world.uuids["alice"]
    for spelling in _uuid_spellings(victim):
        with pytest.raises(ConfigError, match="uuid"):
            world.realm.create_user("acme", "shop", spelling, password=PASSWORD)


def test_no_username_may_look_like_a_uuid_even_an_unused_one(world: World) -> None:
    with pytest.raises(ConfigError, match="uuid"):
        world.realm.create_user(
            "acme", "shop", "12345678-1234-1234-1234-123456789abc", password=PASSWORD
        )
    with pytest.raises(ConfigError, match="uuid"):
        world.realm.create_admin("0123456789abcdef0123456789ABCDEF", password=PASSWORD)


@pytest.mark.parametrize(
    ("username", "email"),
    [
        (VICTIM_EMAIL, None),  # a username that is another user's email
        (VICTIM_EMAIL.upper(), None),
        ("mallory", "ALICE"),  # an email... that is no email: refused as such
        ("mallory", VICTIM_EMAIL.upper()),  # an email that is another user's email
        ("mallory", "bob@example.org"),  # fine on its own; see below for bob as an email
    ],
    ids=["username-is-email", "username-is-email-upper", "bad-email", "email-taken", "ok"],
)
def test_usernames_and_emails_share_one_namespace(
    world: World, username: str, email: str | None
) -> None:
    if email == "bob@example.org":
        world.realm.create_user("acme", "shop", username, password=PASSWORD, email=email)
        with pytest.raises(ConflictError):  # now that email is a taken username too
            world.realm.create_user("acme", "shop", "bob@example.org", password=PASSWORD)
        return
    with pytest.raises(ConfigError):  # ConflictError is a ConfigError
        world.realm.create_user("acme", "shop", username, password=PASSWORD, email=email)


def test_an_email_may_not_be_another_users_username(world: World) -> None:
    world.realm.create_user("acme", "shop", "carol@example.com", password=PASSWORD)
    with pytest.raises(ConflictError, match=r"carol@example\.com"):
        world.realm.create_user(
            "acme", "shop", "mallory", password=PASSWORD, email="Carol@Example.com"
        )


def test_a_failed_create_leaves_no_claim_behind(world: World) -> None:
    with pytest.raises(ConflictError):
        world.realm.create_user("acme", "shop", "fresh", password=PASSWORD, email=VICTIM_EMAIL)
    # "fresh" was not claimed by the failed call
    created = world.realm.create_user("acme", "shop", "fresh", password=PASSWORD)
    assert world.realm.get_user("acme", "shop", "fresh").uuid == created.uuid


def test_own_username_and_email_may_be_the_same_text(world: World) -> None:
    user = world.realm.create_user(
        "acme", "shop", "dan@example.com", password=PASSWORD, email="DAN@example.com"
    )
    assert world.realm.get_user("acme", "shop", "dan@EXAMPLE.com").uuid == user.uuid
    world.realm.delete_user("acme", "shop", user.uuid)
    world.realm.create_user("acme", "shop", "dan@example.com", password=PASSWORD)


def test_admin_names_share_one_namespace(world: World) -> None:
    ann = world.realm.get_admin("ann")
    for username, email in [("ann@example.com", None), ("mallory", "ANN@example.com")]:
        with pytest.raises(ConflictError):
            world.realm.create_admin(username, password=PASSWORD, email=email)
    with pytest.raises(ConfigError, match="uuid"):
        world.realm.create_admin(ann.uuid, password=PASSWORD)


def test_realm_calls_given_a_uuid_act_on_that_user_only(world: World) -> None:
    realm, victim = world.realm, world.uuids["alice"]
    for identifier in (victim, victim.upper(), VICTIM_EMAIL, "ALICE"):
        assert realm.get_user("acme", "shop", identifier).uuid == victim
    grant = realm.password_token("acme", "shop", VICTIM_EMAIL, PASSWORD)
    assert grant.principal.uuid == victim
    realm.update_user("acme", "shop", victim, disabled=True)
    assert realm.get_user("acme", "shop", "alice").disabled
    assert not realm.get_user("acme", "shop", "bob").disabled


def test_lookups_of_impossible_identifiers_find_nobody(world: World) -> None:
    realm = world.realm
    for identifier in ("", " ", "a\x00b", "\ud800", "x" * 400, "a b"):
        with pytest.raises(ConfigError):
            realm.get_user("acme", "shop", identifier)
        with pytest.raises(InvalidGrantError):
            realm.password_token("acme", "shop", identifier, PASSWORD)


def test_me_rules_match_only_the_callers_own_identifiers(make: MakeCaller, world: World) -> None:
    """The attack: a user named like the victim's uuid had ``me`` match the victim's paths."""
    realm = world.realm
    realm.create_user("acme", "vault", "mallory", password=PASSWORD)
    realm.grant("acme", "vault", "get,put:/users/me/**", role="default")
    caller = make()
    mallorys = bearer(realm.password_token("acme", "vault", "mallory", PASSWORD).access_token)
    victor = world.uuids["victor"]
    for path in (f"/acme/vault/users/{victor}/notes", "/acme/vault/users/victor/notes"):
        assert caller.get(path, headers=mallorys).status_code == 403
    assert not caller.called
    assert caller.get("/acme/vault/users/mallory/notes", headers=mallorys).status_code == 200
    assert caller.get("/acme/vault/users/me/notes", headers=mallorys).status_code == 200


def test_the_victims_login_by_email_keeps_working(world: World) -> None:
    with pytest.raises(ConflictError):
        world.realm.create_user("acme", "shop", VICTIM_EMAIL, password="mallory-password")
    grant = world.realm.password_token("acme", "shop", VICTIM_EMAIL, PASSWORD)
    assert grant.principal.username == "alice"


def test_revoke_endpoint_subject_resolves_to_one_user(make: MakeCaller, world: World) -> None:
    caller = make()
    alices = world.token("alice")
    bobs = bearer(world.token("bob"))
    for subject in (world.uuids["alice"], VICTIM_EMAIL, "alice"):
        answer = caller.put(f"/acme/shop/users/{subject}/revoketokens", headers=bobs)
        assert answer.status_code == 403
    assert world.realm.authenticate_token(alices).username == "alice"
