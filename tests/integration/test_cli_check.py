"""``baas-auth check``: the decision for a principal, METHOD and PATH, and the rule behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_runner import Cli

PASSWORD = "correct horse battery"


@pytest.fixture
def shop(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    cli.ok("create-org", "acme")
    cli.ok("create-app", "acme", "shop")
    cli.ok("create-user", "acme", "shop", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    cli.ok("create-role", "acme", "shop", "editor")
    cli.ok("grant", "acme", "shop", "get,put:/books/**", "--role", "editor")
    cli.ok("create-group", "acme", "shop", "/staff")
    cli.ok("grant", "acme", "shop", "post:/reports", "--group", "/staff")
    cli.ok("assign-role", "acme", "shop", "editor", "--user", "alice")
    cli.ok("add-to-group", "acme", "shop", "/staff", "alice")
    cli.ok("grant", "acme", "shop", "get:/public/**", "--role", "guest")
    return cli


@pytest.mark.parametrize(
    ("argv", "allowed", "reason", "source"),
    [
        (["PUT", "/books/42", "--user", "alice"], True, "rule", "role:editor"),
        (["POST", "/reports", "--user", "alice"], True, "rule", "group:/staff"),
        (["GET", "/users/me", "--user", "alice"], True, "own-entity", "own-entity"),
        (["DELETE", "/books/42", "--user", "alice"], False, "no-rule-matched", None),
        (["GET", "/public/a"], True, "rule", "role:guest"),
        (["GET", "/books/1"], False, "no-rule-matched", None),
        (["DELETE", "/anything", "--admin", "ann"], True, "all-access", "admin_user"),
    ],
    ids=["role", "group", "own-entity", "refused", "guest", "guest-refused", "admin"],
)
def test_check_says_why(
    shop: Cli, argv: list[str], allowed: bool, reason: str, source: str | None
) -> None:
    if "--admin" in argv:
        shop.ok("create-admin", "ann", "--org", "acme", "--password-stdin", stdin="ann-pass-1\n")
    answer = shop.json("check", "acme", "shop", *argv)
    assert answer["allowed"] is allowed
    assert answer["reason"] == reason
    assert answer["source"] == source
    if not allowed and "--user" in argv:
        assert "get,put:/books/**  (role:editor)" in answer["considered"]
    # A signed-in caller no rule allows: a route guard could decide (the guest: never).
    assert ("route_guard" in answer) is (not allowed and "--user" in argv)


def test_check_a_token_read_from_standard_input(shop: Cli) -> None:
    token = shop.ok("token", "acme", "shop", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    answer = shop.json("check", "acme", "shop", "PUT", "/books/1", "--token-stdin", stdin=token)
    assert answer["allowed"] is True
    assert answer["principal"] == "app_user alice"


def test_exit_status_and_human_output(shop: Cli) -> None:
    refused = shop.real()(  # the exit status a shell sees
        "check", "acme", "shop", "DELETE", "/books/1", "--user", "alice", "--exit-status"
    )
    assert refused.status == 1
    assert "no-rule-matched" in refused.out
    assert "get,put:/books/**  (role:editor)" in refused.out
    assert shop("check", "acme", "shop", "DELETE", "/books/1", "--user", "alice").status == 0


def test_check_refuses_bad_input(shop: Cli) -> None:
    assert "no user 'nobody'" in shop.fails(
        "check", "acme", "shop", "GET", "/x", "--user", "nobody"
    )
    shop.fails("check", "acme", "shop", "GET", "/a/../b", "--user", "alice")
    shop.fails("check", "acme", "shop", "GET", "/x", "--client", "nosuch")


# -- identity provider tokens -----------------------------------------------------------------

IDP = "https://sso.example.com/realms/acme"


@pytest.fixture
def federated(shop: Cli, tmp_path: Path) -> tuple[Cli, object]:
    """The shop trusts a provider whose key set is given inline (roles and groups claims)."""
    import json
    import time

    from tests.federation.kit import jwks, rsa_key

    key = rsa_key()
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(jwks(key)))
    shop.ok("add-idp", "acme", "shop", "--issuer", IDP, "--audience", "shop-api", "--jwks-file",
            str(path), "--algorithm", "RS256", "--roles-claim", "roles", "--groups-claim",
            "groups")
    shop.ok("add-idp", "acme", "--issuer", IDP + "/staff", "--audience", "admins",
            "--jwks-file", str(path), "--algorithm", "RS256")
    shop.ok("create-admin", "ann", "--org", "acme", "--email", "ann@example.com",
            "--password-stdin", stdin="ann-pass-1\n")
    now = int(time.time())

    def token(**changes: object) -> str:
        from tests.federation.kit import sign

        base: dict[str, object] = {"iss": IDP, "aud": "shop-api", "sub": "alice",
                                   "iat": now - 5, "exp": now + 300}
        base.update(changes)
        return sign(key, "RS256", {k: v for k, v in base.items() if v is not None})

    return shop, token


def _check_token(cli: Cli, token: str, method: str = "PUT", path: str = "/books/1") -> Any:
    return cli.json("check", "acme", "shop", method, path, "--token-stdin", stdin=token)


def test_check_a_local_users_provider_token(federated: tuple[Cli, Any]) -> None:
    cli, token = federated
    answer = _check_token(cli, token())
    assert answer["provider"] == "app acme/shop"
    assert answer["checks passed"][-1] == "sub and the username claim"
    assert answer["found as"] == "local user: alice"
    assert (answer["allowed"], answer["source"]) == (True, "role:editor")
    assert answer["principal"] == "app_user alice"


def test_check_a_visitors_token_names_its_group(federated: tuple[Cli, Any]) -> None:
    cli, token = federated
    answer = _check_token(cli, token(sub="vera", groups=["/staff"]), "POST", "/reports")
    assert answer["found as"] == "visitor: vera"
    assert (answer["allowed"], answer["source"]) == (True, "group:/staff")


@pytest.mark.parametrize(("changes", "refused"), [
    ({"exp": 1_000}, "exp: expired_token"),
    ({"aud": "other"}, "iss and aud: auth_bad_access_token"),
])
def test_check_says_which_check_refused(
    federated: tuple[Cli, Any], changes: dict[str, object], refused: str
) -> None:
    cli, token = federated
    answer = _check_token(cli, token(**changes))
    assert answer["allowed"] is False
    assert answer["refused"] == refused


def test_check_an_unknown_issuer_and_local_control(federated: tuple[Cli, Any]) -> None:
    cli, token = federated
    answer = _check_token(cli, token(iss="https://elsewhere.example.com/"))
    assert answer["provider"] is None
    assert "no identity provider" in answer["refused"]
    cli.ok("disable-user", "acme", "shop", "alice")
    answer = _check_token(cli, token())
    assert answer["refused"].startswith("local control")


def test_check_an_admins_token_from_the_orgs_provider(federated: tuple[Cli, Any]) -> None:
    cli, token = federated
    """Found (by email), and refused on an app path: such tokens sign in on /management."""
    admin = token(iss=IDP + "/staff", aud="admins", email="ann@example.com", sub="u-1")
    answer = _check_token(cli, admin)
    assert answer["provider"] == "org acme"
    assert answer["found as"] == "admin user by email: ann"
    assert answer["allowed"] is False
    assert "/management only" in answer["refused"]
