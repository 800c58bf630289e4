"""How ``baas-auth`` reads secrets: a prompt on a terminal, ``--password-stdin`` from a pipe, and
a one-line error (never a traceback, never the secret) on closed, empty or piped input."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.cli_runner import CLOSED, Cli


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("input"))
    cli.ok("create-org", "acme")
    cli.ok("create-app", "acme", "shop")
    return cli


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["create-user", "acme", "shop", "u1", "--password-stdin"], CLOSED, "closed"),
        (["create-user", "acme", "shop", "u2", "--password-stdin"], "", "empty or closed"),
        (["create-user", "acme", "shop", "u3", "--password-stdin"], "\n", "password is empty"),
        (["create-user", "acme", "shop", "u4", "--password-stdin"], "short\n", "at least 8"),
        (["token", "acme", "shop", "u5", "--password-stdin"], CLOSED, "closed"),
        (["client-token", "YXA6abc", "--secret-stdin"], "", "empty or closed"),
        (["revoke-token"], CLOSED, "closed"),
        (["revoke-token"], "", "empty or closed"),
        (["token-info"], "\n", "the token is empty"),
        (["apply", "-"], CLOSED, "closed"),
    ],
)
def test_closed_or_empty_input_is_a_one_line_error(
    shop: Cli, argv: list[str], stdin: object, message: str
) -> None:
    assert message in shop.fails(*argv, stdin=stdin)


@pytest.mark.parametrize(
    "argv",
    [
        ["create-user", "acme", "shop", "u6"],
        ["set-password", "acme", "shop", "u6"],
        ["create-admin", "ann"],
        ["token", "acme", "shop", "u6"],
        ["admin-token", "ann"],
        ["client-token", "YXA6abc"],
    ],
)
@pytest.mark.parametrize("stdin", ["piped-secret\n", CLOSED])
def test_a_prompt_without_a_terminal_is_a_usage_error(
    shop: Cli, argv: list[str], stdin: object
) -> None:
    err = shop.fails(*argv, status=2, stdin=stdin)
    assert "not a terminal" in err
    assert "-stdin" in err
    assert "piped-secret" not in err


def test_no_password_and_password_stdin_exclude_each_other(shop: Cli) -> None:
    argv = ("create-user", "acme", "shop", "u7", "--no-password", "--password-stdin")
    assert "exclude each other" in shop.fails(*argv, status=2, stdin="pw-pw-pw-pw\n")


def test_spaces_belong_to_a_piped_password(shop: Cli) -> None:
    shop.ok("create-user", "acme", "shop", "u8", "--password-stdin", stdin="  spaced pw  \r\n")
    realm = shop.open()
    assert realm.password_token("acme", "shop", "u8", "  spaced pw  ").access_token
    realm.close()


def _on_a_terminal(cli: Cli, argv: list[str], answers: list[str]) -> tuple[int, str]:
    """Run ``baas-auth`` with a pseudo-terminal as its standard input, typing ``answers`` at
    its prompts; its exit status and what the terminal showed."""
    leader, follower = pty.openpty()
    command = [cli.script, "--realm", str(cli.realm), *argv]
    process = subprocess.Popen(
        command, cwd=cli.folder, env=cli.env, stdin=follower, stdout=follower,
        stderr=follower, start_new_session=True,
    )
    os.close(follower)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 1024)
            except OSError:  # the terminal is gone: the process has exited
                break
            shown += chunk
            if pending and shown.endswith(b": "):  # a prompt, waiting (its echo off)
                os.write(leader, pending.pop(0).encode() + b"\n")
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), shown.decode(errors="replace")


def test_a_terminal_is_prompted_twice_for_a_new_password(shop: Cli) -> None:
    status, shown = _on_a_terminal(
        shop, ["create-user", "acme", "shop", "tty1"], ["typed-secret", "typed-secret"]
    )
    assert status == 0, shown
    assert "Password (again):" in shown
    assert "typed-secret" not in shown
    realm = shop.open()
    assert realm.password_token("acme", "shop", "tty1", "typed-secret").access_token
    realm.close()


def test_two_different_passwords_on_a_terminal_fail(shop: Cli) -> None:
    status, shown = _on_a_terminal(
        shop, ["create-user", "acme", "shop", "tty2"], ["one-secret", "another-secret"]
    )
    assert status == 1
    assert "the two passwords differ" in shown
    assert "Traceback" not in shown


def test_the_realm_file_is_untouched_by_input_errors(tmp_path: Path) -> None:
    cli = Cli(tmp_path, in_process=False)  # a process whose descriptor 0 is closed
    cli.fails("create-admin", "ann", "--password-stdin", stdin=CLOSED)
    assert not cli.path.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--json", "nonsense"], "invalid choice: 'nonsense'"),
        (["create-org", "--json"], "the following arguments are required: name"),
        (["--json", "list-orgs", "--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_a_usage_error_with_json_is_json(tmp_path: Path, argv: list[str], message: str) -> None:
    done = Cli(tmp_path)(*argv)
    assert (done.status, done.out) == (2, "")
    report = json.loads(done.err)
    assert report["error"] == "usage"
    assert message in report["message"]


def test_a_usage_error_without_json_is_argparse_s_text(tmp_path: Path) -> None:
    done = Cli(tmp_path)("create-org")
    assert (done.status, done.out) == (2, "")
    assert done.err.startswith("usage: baas-auth create-org")
    refused = "baas-auth create-org: error: the following arguments are required: name\n"
    assert done.err.endswith(refused)


def test_json_after_a_double_dash_is_an_argument_not_the_option(tmp_path: Path) -> None:
    done = Cli(tmp_path)("create-org", "--", "--json", "extra")
    assert done.status == 2
    assert done.err.startswith("usage:")
