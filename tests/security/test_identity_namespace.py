"""Hole 1 of the first release: impersonation through the identifier namespace (behaviour §1).

A user could be created whose username was another user's uuid or email; then the attacker's
``me`` matched ``/users/<victim-uuid>/**``, and Realm calls given the victim's uuid acted on
the attacker. Usernames, emails and uuids now form one namespace, usernames never look like a
uuid, and every identifier resolves to exactly one user.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baas_auth import Realm
from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.errors import ConfigError, ConflictError, InvalidGrantError
from tests.adapters.conftest import PASSWORD, MakeCaller, World, bearer
from tests.usergrid_export import export_document, user

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


# -- look-alike identifiers: one namespace after NFKC and case folding ----------------------------

LOOK_ALIKES = [
    ("carol@x.io", "carol@x\uff0eio"),  # FULLWIDTH FULL STOP
    ("carol@x.io", "\uff43\uff41\uff52\uff4f\uff4c@x.io"),  # fullwidth letters
    ("carol@x.io", "carol@x\u2024io"),  # ONE DOT LEADER
    ("fiona@x.io", "\ufb01ona@x.io"),  # the ligature fi
    ("kate@x.io", "\u212aate@x.io"),  # KELVIN SIGN
    ("strasse@x.io", "stra\u00dfe@x.io"),  # sharp s folds to ss
    ("jos\u00e9@x.io", "jose\u0301@x.io"),  # precomposed and combining accent
    ("carol@x.io", "ca\u00adrol@x.io"),  # a soft hyphen: invisible
    ("carol@x.io", "carol@x.io\u200b"),  # a zero-width space: invisible
    ("carol@x.io", "CAROL@X\uff0eIO"),  # upper case and fullwidth at once
]
LOOK_ALIKE_IDS = [
    "fullwidth-stop",
    "fullwidth-letters",
    "dot-leader",
    "ligature",
    "kelvin",
    "sharp-s",
    "combining",
    "soft-hyphen",
    "zero-width-space",
    "upper-fullwidth",
]


@pytest.mark.parametrize(("taken", "look_alike"), LOOK_ALIKES, ids=LOOK_ALIKE_IDS)
def test_an_email_may_not_look_like_another_users_email(
    realm: Realm, taken: str, look_alike: str
) -> None:
    _shop(realm)
    carol = realm.create_user("acme", "shop", "carol", password=PASSWORD, email=taken)
    with pytest.raises(ConflictError):
        realm.create_user("acme", "shop", "mallory", password=PASSWORD, email=look_alike)
    with pytest.raises(ConflictError):  # in either order
        realm.create_user("acme", "shop", "mallory", password=PASSWORD, email=taken.upper())
    assert realm.get_user("acme", "shop", taken).uuid == carol.uuid


@pytest.mark.parametrize(("taken", "look_alike"), LOOK_ALIKES, ids=LOOK_ALIKE_IDS)
def test_a_look_alike_email_then_the_plain_one(realm: Realm, taken: str, look_alike: str) -> None:
    _shop(realm)
    realm.create_user("acme", "shop", "mallory", password=PASSWORD, email=look_alike)
    with pytest.raises(ConflictError):
        realm.create_user("acme", "shop", "carol", password=PASSWORD, email=taken)
    if taken.isascii():  # a username is ASCII: the plain spelling may not be one either
        with pytest.raises(ConflictError):
            realm.create_user("acme", "shop", taken, password=PASSWORD)


def test_an_email_may_not_look_like_another_users_username(realm: Realm) -> None:
    _shop(realm)
    realm.create_user("acme", "shop", "carol@x.io", password=PASSWORD)
    with pytest.raises(ConflictError):
        realm.create_user("acme", "shop", "mallory", password=PASSWORD, email="carol@x\uff0eio")


def test_admin_emails_may_not_look_alike(realm: Realm) -> None:
    realm.create_admin("carol", password=PASSWORD, email="carol@x.io")
    with pytest.raises(ConflictError):
        realm.create_admin("mallory", password=PASSWORD, email="carol@x\uff0eio")
    realm.create_admin("strasse@x.io", password=PASSWORD)
    with pytest.raises(ConflictError):
        realm.create_admin("mallory", password=PASSWORD, email="STRA\u00dfE@x.io")


def test_a_look_alike_names_the_one_user_it_folds_to(realm: Realm) -> None:
    """Decided: lookups fold as creation does, so a login by any spelling that folds to a
    user's email signs that user in (with that user's password), and nobody else."""
    _shop(realm)
    carol = realm.create_user("acme", "shop", "carol", password=PASSWORD, email="carol@x.io")
    for spelling in ("CAROL@X\uff0eIO", "carol@x\u2024io", "\uff43arol@x.io"):
        assert realm.get_user("acme", "shop", spelling).uuid == carol.uuid
        grant = realm.password_token("acme", "shop", spelling, PASSWORD)
        assert grant.principal.uuid == carol.uuid
    fiona = realm.create_user("acme", "shop", "fiona", password=PASSWORD, email="\ufb01ona@x.io")
    assert realm.get_user("acme", "shop", "fiona@X.IO").uuid == fiona.uuid
    realm.delete_user("acme", "shop", "fiona")  # its folded claims go with it
    realm.create_user("acme", "shop", "fiona@x.io", password=PASSWORD)


def test_ascii_names_keep_their_index_keys() -> None:
    """Stores written before folding stay valid: an ASCII name's key is what it was."""
    for name in ("Alice@Example.com", "bob", "X.Y+z@host-1.io"):
        assert record_keys.user_id_key("acme", "shop", name) == f"userid:acme/shop:{name.lower()}"
        assert record_keys.admin_id_key(name) == f"adminid:{name.lower()}"


def _shop(realm: Realm) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop")


def _imported_user(name: str, email: str, uuid: str) -> dict[str, Any]:
    return user(name, "sha-1", PASSWORD, email=email, uuid=uuid)


@pytest.mark.parametrize(("taken", "look_alike"), LOOK_ALIKES[:6], ids=LOOK_ALIKE_IDS[:6])
def test_an_import_skips_a_look_alike_of_an_existing_user(
    realm: Realm, taken: str, look_alike: str
) -> None:
    realm.import_identities(export_document([]))
    carol = realm.create_user("acme", "shop", "carol", password=PASSWORD, email=taken)
    document = export_document(
        [_imported_user("mallory", look_alike, "7d1c6a0e-0000-4000-8000-000000000001")]
    )
    report = realm.import_identities(document)
    skipped = [e for e in report.skipped if e.kind == "user"]
    assert [e.name for e in skipped] == ["mallory"]
    assert "belongs to another user" in (skipped[0].reason or "")
    assert realm.get_user("acme", "shop", look_alike).uuid == carol.uuid


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
def test_an_import_of_two_look_alikes_keeps_the_first(realm: Realm, dry_run: bool) -> None:
    document = export_document(
        [
            _imported_user("carol", "carol@x.io", "7d1c6a0e-0000-4000-8000-000000000002"),
            _imported_user("mallory", "carol@x\uff0eio", "7d1c6a0e-0000-4000-8000-000000000003"),
        ]
    )
    report = realm.import_identities(document, dry_run=dry_run)
    users = {e.name: e for e in report.entries if e.kind == "user"}
    assert users["carol"].outcome == "created"
    assert users["mallory"].outcome == "skipped"
    assert "carol@x.io" in (users["mallory"].reason or "")


@settings(max_examples=300)
@given(st.text(max_size=24))
def test_folding_is_stable(text: str) -> None:
    """A folded name folds to itself: the key a name is claimed under is the key any spelling
    of it is looked up under, and an upgrade that folds a folded key changes nothing."""
    folded = ids.fold(text)
    assert ids.fold(folded) == folded
