"""An app user's email changed over HTTP (``PUT /users/{user}/email``), on both adapters and
every store: by the user itself (``me``, its name) or the app's clients and admins, never by
another user; a taken email is refused (the namespace of usernames, emails and uuids), a
malformed one too; ``null`` removes it; the old email stops naming the user at once."""

from __future__ import annotations

import pytest

from baas_auth.errors import NotFoundError
from tests.adapters.conftest import PASSWORD
from tests.api.conftest import Api


def _put_email(api: Api, who: str, user: str, body: object) -> tuple[int, dict[str, object]]:
    caller = api.caller()
    response = caller.put(f"/acme/shop/users/{user}/email", json=body, headers=api.headers(who))
    assert not caller.called
    return response.status_code, response.json()


def test_a_user_changes_its_own_email(api: Api) -> None:
    realm = api.world.realm
    status, body = _put_email(api, "alice", "me", {"email": "alice@new.example"})
    assert status == 200, body
    (entity,) = body["entities"]  # type: ignore[misc]
    assert entity["email"] == "alice@new.example"
    assert entity["uuid"] == api.world.uuids["alice"]
    assert realm.get_user("acme", "shop", "alice@new.example").username == "alice"
    with pytest.raises(NotFoundError):
        realm.get_user("acme", "shop", "alice@example.com")
    grant = realm.password_token("acme", "shop", "alice@new.example", PASSWORD)
    assert grant.principal.username == "alice"


@pytest.mark.parametrize("who", ["ann", "shop-client", "acme-client"])
def test_the_apps_clients_and_admins_change_a_users_email(api: Api, who: str) -> None:
    status, body = _put_email(api, who, "bob", {"email": "bob@example.com"})
    assert status == 200, body
    assert api.world.realm.get_user("acme", "shop", "bob").email == "bob@example.com"
    status, body = _put_email(api, who, "bob", {"email": None})
    assert status == 200, body
    assert api.world.realm.get_user("acme", "shop", "bob").email is None


def test_no_one_else_changes_it(api: Api) -> None:
    """bob's ``default`` role allows ``put:/**``; that does not make alice's email his. Nor
    a guest's, nor an admin of another org's."""
    for who, status in (("bob", 403), ("guest", 401), ("gus", 401)):
        got, body = _put_email(api, who, "alice", {"email": "mallory@example.com"})
        assert got == status, (who, body)
    assert api.world.realm.get_user("acme", "shop", "alice").email == "alice@example.com"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"email": "BOB@example.com"}, "duplicate_unique_property_exists"),  # bob's email
        ({"email": "Alice@Example.com"}, None),  # its own, in another case: allowed
        ({"email": "not an email"}, "illegal_argument"),
        ({"email": "a@b.c", "username": "x"}, "illegal_argument"),
        ({}, "illegal_argument"),
    ],
)
def test_a_taken_or_malformed_email_is_refused(
    api: Api, body: dict[str, object], error: str | None
) -> None:
    realm = api.world.realm
    realm.set_user_email("acme", "shop", "bob", "bob@example.com")
    status, answer = _put_email(api, "ann", "alice", body)
    if error is None:
        assert status == 200, answer
        return
    assert status == 400, answer
    assert answer["error"] == error
    assert realm.get_user("acme", "shop", "alice").email == "alice@example.com"
