"""``baas-auth check``: the decision for a principal, METHOD and PATH, and the rule behind it."""

from __future__ import annotations

from pathlib import Path

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
