"""The admin lifecycle over HTTP, on both adapters and every store: a page of an app's users
(``limit``, ``cursor``, ``prefix``, ``state``), deleting an org or an app (an org admin's), and
an admin user changing its email or deleting itself; every token of what is gone is refused at
the next request."""

from __future__ import annotations

from tests.adapters.conftest import PASSWORD, bearer
from tests.api.conftest import Api, assert_api_response


def test_get_users_pages_with_limit_and_cursor(api: Api) -> None:
    world, caller = api.world, api.caller()
    for name in ("carl", "dora", "ezra"):
        world.realm.create_user("acme", "shop", name, password=PASSWORD)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):  # bounded: 5 users, 2 a page
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        response = caller.get("/acme/shop/users" + query, headers=api.headers("ann"))
        body = assert_api_response(response, action="get", path="/users", clock=world.clock)
        seen += [entity["username"] for entity in body["entities"]]
        cursor = body.get("cursor", "")
        if not cursor:
            break
    assert seen == ["alice", "bob", "carl", "dora", "ezra"]
    assert not caller.called
    found = caller.get("/acme/shop/users?prefix=ALICE@", headers=api.headers("ann")).json()
    assert [entity["username"] for entity in found["entities"]] == ["alice"]
    refused = caller.get("/acme/shop/users?limit=0", headers=api.headers("ann"))
    assert refused.status_code == 400
    assert caller.get("/acme/shop/users", headers=api.headers("gus")).status_code == 401


def test_delete_app_ends_its_users_tokens(api: Api) -> None:
    world, caller = api.world, api.caller()
    alice = bearer(world.token("alice"))
    assert caller.get("/acme/shop/books", headers=alice).status_code == 200
    assert (
        caller.request(
            "DELETE", "/management/orgs/acme/apps/shop", headers=api.headers("gus")
        ).status_code
        == 403
    )
    response = caller.request(
        "DELETE", "/management/orgs/acme/apps/shop", headers=api.headers("ann")
    )
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "delete application"
    assert caller.get("/acme/shop/books", headers=alice).status_code == 401
    assert [app.name for app in world.realm.list_apps("acme")] == ["sandbox", "vault"]


def test_delete_org_ends_every_token_in_it(api: Api) -> None:
    world, caller = api.world, api.caller()
    alice, ann = bearer(world.token("alice")), api.headers("ann")
    assert (
        caller.request("DELETE", "/management/orgs/acme", headers=api.headers("gus")).status_code
        == 403
    )
    response = caller.request("DELETE", "/management/orgs/acme", headers=ann)
    assert response.status_code == 200, response.text
    assert caller.get("/acme/shop/books", headers=alice).status_code == 401
    assert [org.name for org in world.realm.list_orgs()] == ["globex"]
    assert world.realm.get_admin("ann").orgs == ()


def test_an_admin_changes_its_email_and_deletes_itself(api: Api) -> None:
    world, caller = api.world, api.caller()
    ann = api.headers("ann")
    world.realm.create_admin("otto", password=PASSWORD, email="otto@example.com")
    taken = caller.put("/management/users/ann", json={"email": "OTTO@example.com"}, headers=ann)
    assert taken.status_code == 400
    assert taken.json()["error"] == "duplicate_unique_property_exists"
    assert world.realm.get_admin("ann").email == "ann@example.com"
    other = caller.put("/management/users/gus", json={"email": "g@x.io"}, headers=ann)
    assert other.status_code == 403
    changed = caller.put("/management/users/me", json={"email": "ann@new.example"}, headers=ann)
    assert changed.status_code == 200, changed.text
    assert world.realm.get_admin("ann@new.example").username == "ann"
    assert caller.get("/acme/shop/credentials", headers=ann).status_code == 200
    gone = caller.request("DELETE", "/management/users/ann", headers=ann)
    assert gone.status_code == 200, gone.text
    assert caller.get("/acme/shop/credentials", headers=ann).status_code == 401
    assert [admin.username for admin in world.realm.list_admins()] == ["gus", "otto"]
