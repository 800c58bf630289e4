"""Accounts converted from the original's export files, on both adapters: users sign in through
the token endpoint with the hashes the original wrote, and their roles, groups and own rules
decide their requests as they did there."""

from __future__ import annotations

from pathlib import Path

import pytest

from baas_auth.core.usergrid_api import complete
from baas_auth.core.usergrid_files import ExportFile, convert
from tests.adapters.conftest import Caller, World, bearer
from tests.usergrid_export import fixed_uuid
from tests.usergrid_export_files import AppExport, write_app

PASSWORD = "their old password"
SCHEMES = {"plaintext": "pat", "md5": "mel", "sha-1": "sam", "bcrypt": "bea",
           "md5,bcrypt": "max", "legacy": "leo"}
ORG, APP = fixed_uuid("org:initech"), fixed_uuid("app:initech/shop")
RULES = {"default": ["get:/books/**"], "editor": ["put,post:/books/*"]}


@pytest.fixture
def imported(world: World, tmp_path: Path) -> World:
    shop = AppExport("initech", "shop")
    for role in RULES:
        shop.role(role)
    staff = shop.group("staff", rules=("get:/staff/**",))
    for scheme, name in SCHEMES.items():
        shop.user(name, scheme, PASSWORD, roles=("editor",) if name == "mel" else ())
    shop.user("dora", "md5", PASSWORD, disabled=True)
    shop.user("olga", "sha-1", PASSWORD, rules=("delete:/books/own",))
    paths = write_app(tmp_path / "export", shop)
    conversion = convert([ExportFile(p.name, p.read_text()) for p in paths],
                         {"initech": ORG, "initech/shop": APP})
    # What ExportApp does not write, as the original's API answers it (core/usergrid_api):
    answers: dict[str, object] = {
        f"/initech/shop/roles/{role}/permissions": {"data": rules}
        for role, rules in RULES.items()}
    answers[f"/initech/shop/groups/{staff}/users"] = {
        "entities": [{"uuid": fixed_uuid("user:initech/shop/sam")}]}
    document, _ = complete(conversion.document, conversion.left_out, answers)
    report = world.realm.import_identities(document)
    assert report.skipped == ()
    return world


def _token(caller: Caller, name: str) -> str:
    grant = {"grant_type": "password", "username": name, "password": PASSWORD}
    response = caller.post("/initech/shop/token", data=grant)
    assert response.status_code == 200, (name, response.text)
    assert response.json()["user"]["uuid"] == fixed_uuid(f"user:initech/shop/{name}")
    return str(response.json()["access_token"])


@pytest.mark.parametrize("name", [*SCHEMES.values(), "olga"])
def test_each_hash_the_original_wrote_signs_its_user_in(
    caller: Caller, imported: World, name: str
) -> None:
    token = _token(caller, name)
    assert caller.get("/initech/shop/books/1", headers=bearer(token)).status_code == 200


def test_a_disabled_user_stays_out(caller: Caller, imported: World) -> None:
    grant = {"grant_type": "password", "username": "dora", "password": PASSWORD}
    refused = caller.post("/initech/shop/token", data=grant)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_roles_groups_and_own_rules_decide_as_in_the_original(
    caller: Caller, imported: World
) -> None:
    decisions = {
        ("mel", "PUT", "/books/1"): 200,  # the editor role
        ("pat", "PUT", "/books/1"): 403,  # default only
        ("sam", "GET", "/staff/list"): 200,  # the staff group
        ("mel", "GET", "/staff/list"): 403,
        ("olga", "DELETE", "/books/own"): 200,  # her own rule
        ("pat", "DELETE", "/books/own"): 403,
    }
    for (name, method, path), status in decisions.items():
        response = caller.request(method, f"/initech/shop{path}",
                                  headers=bearer(_token(caller, name)))
        assert response.status_code == status, (name, method, path)
