"""``add-idp``, ``list-idps`` and ``remove-idp`` (behaviour §8), for people and with ``--json``,
on an app and on an org, read back in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli_runner import Cli

ISSUER = "https://sso.example.com/realms/acme"
CERTS = "https://sso.example.com/realms/acme/protocol/openid-connect/certs"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    cli.ok("create-org", "acme")
    cli.ok("create-app", "acme", "shop")
    return cli


def test_add_list_remove_on_an_app(cli: Cli) -> None:
    added = cli.json("add-idp", "acme", "shop", "--issuer", ISSUER, "--audience", "shop-api",
                     "--jwks-url", CERTS, "--username-claim", "preferred_username",
                     "--roles-claim", "realm_access.roles", "--map-role", "editors=admin",
                     "--provision")
    assert added["issuer"] == ISSUER
    assert added["role_map"] == {"editors": "admin"}
    assert added["provision"] is True
    [listed] = cli.json("list-idps", "acme", "shop")
    assert listed["jwks_url"] == CERTS
    assert listed["algorithms"] == ["RS256", "ES256"]
    human = cli.ok("list-idps", "acme", "shop")
    assert human.splitlines()[0].split()[:2] == ["ISSUER", "AUDIENCE"]
    assert cli.json("remove-idp", "acme", "shop", "--issuer", ISSUER) == {"removed": ISSUER}
    assert "trusts no identity provider" in cli.ok("list-idps", "acme", "shop")
    assert cli.fails("remove-idp", "acme", "shop", "--issuer", ISSUER)


def test_an_org_level_provider_from_a_key_set_file(cli: Cli, tmp_path: Path) -> None:
    key_set = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k",
                         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                         "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(key_set))
    cli.ok("add-idp", "acme", "--issuer", ISSUER, "--audience", "admins", "--jwks-file",
           str(path), "--algorithm", "ES256", "--username-claim", "email")
    [listed] = cli.json("list-idps", "acme")
    assert listed["jwks"] == key_set
    assert cli.json("list-idps", "acme", "shop") == []


def test_bad_settings_are_refused(cli: Cli) -> None:
    assert "https" in cli.fails("add-idp", "acme", "shop", "--issuer", ISSUER, "--audience",
                                "a", "--jwks-url", "http://sso.example.com/certs")
    assert cli.fails("add-idp", "acme", "shop", "--issuer", ISSUER, "--audience", "a",
                     "--jwks-url", CERTS, "--algorithm", "HS256")
    assert cli.fails("add-idp", "acme", "shop", "--issuer", ISSUER, "--audience", "a",
                     "--jwks-url", CERTS, "--map-role", "nope")
    assert cli.json("list-idps", "acme", "shop") == []
