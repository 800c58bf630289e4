"""Hole 2 of the first release: ``/management/…`` was not scoped (behaviour §6.1).

An admin or org client of org ``evil`` reached the inner app on
``/management/orgs/acme/credentials`` and ``/management/users/someoneelse``. Now an org's paths
are for its admins and clients, an admin user's paths for that admin itself, the org list for
admin users, and nothing else under ``/management`` for anyone.
"""

from __future__ import annotations

import pytest

from tests.adapters.conftest import Caller, MakeCaller, World, bearer

Who = str


def _headers(world: World, who: Who) -> dict[str, str]:
    """Credentials of: ann (admin of acme), gus (admin of globex), the acme and globex org
    clients, the shop app client, alice (an app user), or nobody."""
    if who in ("ann", "gus", "alice"):
        return bearer(world.token(who))
    creds = {
        "acme-client": world.org_creds,
        "globex-client": world.globex_creds,
        "shop-client": world.shop_creds,
    }
    if who in creds:
        return bearer(world.client_token(creds[who]))
    return {}


def _org_uuid(world: World, name: str) -> str:
    return world.realm.get_org(name).uuid


@pytest.fixture
def management(make: MakeCaller) -> Caller:
    # endpoints=False too would route /management/me to the app; the paths below are not
    # endpoints either way.
    return make()


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        # an org's own paths: its admins and its clients
        ("ann", "/management/orgs/acme", 200),
        ("ann", "/management/orgs/acme/credentials", 200),
        ("ann", "/management/organizations/acme/apps/shop", 200),
        ("ann", "/management/orgs/ACME/credentials", 200),
        ("acme-client", "/management/orgs/acme/credentials", 200),
        # the first release's hole: another org's admin or client
        ("gus", "/management/orgs/acme/credentials", 403),
        ("gus", "/management/organizations/acme", 403),
        ("globex-client", "/management/orgs/acme/credentials", 403),
        ("globex-client", "/management/orgs/acme", 403),
        # app users and app clients never reach /management
        ("alice", "/management/orgs/acme", 403),
        ("shop-client", "/management/orgs/acme/credentials", 403),
        # the org list: admin users only
        ("ann", "/management/orgs", 200),
        ("ann", "/management/orgs/", 200),  # one trailing slash, as routers allow
        ("ann", "/management/orgs/acme/", 200),
        ("gus", "/management/orgs/acme/", 403),
        ("gus", "/management/organizations", 200),
        ("acme-client", "/management/orgs", 403),
        # an admin user's own paths: that admin only
        ("ann", "/management/users/ann", 200),
        ("ann", "/management/users/ann/", 200),
        ("ann", "/management/users/ANN/apps", 200),
        ("ann", "/management/users/ann@example.com", 200),
        ("ann", "/management/users/me/orgs", 200),
        ("gus", "/management/users/ann", 403),
        ("ann", "/management/users/gus", 403),
        ("ann", "/management/users/someoneelse", 403),
        ("acme-client", "/management/users/ann", 403),
        # everything else under /management: nobody
        ("ann", "/management", 403),
        ("ann", "/management/", 403),
        ("ann", "/management/applications/acme/shop", 403),
        ("ann", "/management/users", 403),
        ("acme-client", "/management/whatever", 403),
        # no credentials: 401
        ("nobody", "/management/orgs/acme", 401),
        ("nobody", "/management/users/ann", 401),
    ],
)
def test_management_paths_are_scoped(
    management: Caller, world: World, who: Who, path: str, status: int
) -> None:
    response = management.get(path, headers=_headers(world, who))
    assert response.status_code == status, response.text
    assert management.called == (status == 200)
    if status == 200:
        assert management.last.path == path


def test_an_org_may_be_named_by_its_uuid(management: Caller, world: World) -> None:
    acme, globex = _org_uuid(world, "acme"), _org_uuid(world, "globex")
    anns = _headers(world, "ann")
    assert management.get(f"/management/orgs/{acme}/apps", headers=anns).status_code == 200
    assert management.get(f"/management/orgs/{acme.upper()}", headers=anns).status_code == 200
    assert management.get(f"/management/orgs/{globex}/apps", headers=anns).status_code == 403
    client = _headers(world, "acme-client")
    assert management.get(f"/management/orgs/{acme}", headers=client).status_code == 200
    gus = _headers(world, "gus")
    assert management.get(f"/management/orgs/{acme}", headers=gus).status_code == 403


def test_an_admin_user_may_be_named_by_its_uuid(management: Caller, world: World) -> None:
    ann = world.realm.get_admin("ann").uuid
    assert management.get(f"/management/users/{ann}", headers=_headers(world, "ann")).is_success
    gus_asks = management.get(f"/management/users/{ann}", headers=_headers(world, "gus"))
    assert gus_asks.status_code == 403


def test_a_new_org_membership_applies_at_once(management: Caller, world: World) -> None:
    gus = _headers(world, "gus")
    assert management.get("/management/orgs/acme", headers=gus).status_code == 403
    world.realm.add_admin_to_org("gus", "acme")
    # a token stands for the admin as it is now, not as it was when the token was issued
    assert management.get("/management/orgs/acme", headers=gus).is_success


def test_a_forbidden_management_path_says_so_without_detail(
    management: Caller, world: World
) -> None:
    response = management.get("/management/orgs/acme/credentials", headers=_headers(world, "gus"))
    body = response.json()
    assert body["error"] == "unauthorized"
    assert "acme" not in body["error_description"]
    assert response.headers["www-authenticate"] == (
        'Bearer realm="management", error="insufficient_scope"'
    )


@pytest.mark.parametrize("who", ["ann", "acme-client"])
def test_an_org_wide_principal_is_a_stranger_to_an_app_that_does_not_exist(
    caller: Caller, world: World, who: Who
) -> None:
    """An admin or org client covers every app of its org, but only apps that exist: checked
    in the snapshot the request is judged on, also right after a directory write (when the
    snapshot has read nothing yet)."""
    headers = _headers(world, who)
    for _ in range(2):
        response = caller.get("/acme/nosuch/books", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].endswith('error="invalid_token"')
        world.realm.create_role("acme", "shop", f"r{len(caller.calls)}x{_}")  # a new generation
    assert not caller.called
    assert caller.get("/acme/shop/books", headers=headers).status_code == 200
