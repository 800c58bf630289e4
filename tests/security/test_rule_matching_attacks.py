"""Matching a path against a rule takes linear time (behaviour §5.1): no regex backtracking.

A glob such as ``*.*.*.*.json`` compiled to ``.*\\..*\\..*\\..*\\.json`` takes polynomial time on a
segment of dots: seconds at a few hundred, far beyond any timeout at 10,000. Timing in-process
would be flaky, so each attack runs in a child process under a generous timeout that only a
backtracking matcher can miss.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from baas_auth.core.permissions import Rule, compile_rules

MATCH_IN_A_CHILD = """
import sys
from baas_auth.core.permissions import Rule, compile_rules
rule, path = sys.argv[1], sys.argv[2]
print(compile_rules([Rule.parse(rule)]).permits("get", path))
"""

# (rule, path, expected)
ATTACKS = [
    ("get:/files/*.*.*.*.json", "/files/" + "." * 10_000 + "x", False),
    ("get:/files/*.*.*.*.json", "/files/" + "." * 10_000 + "json", True),
    ("get:/x/*-*-*.pdf", "/x/" + "-" * 10_000, False),
    ("get:/x/*-*-*.pdf", "/x/" + "-" * 10_000 + ".pdf", True),
    ("get:/x/*a?a*a?a*b", "/x/" + "a" * 10_000, False),
    ("get:/x/*a?a*a?a*b", "/x/" + "a" * 10_000 + "b", True),
    ("get:/x/*a?b*c", "/x/" + "a" * 10_000 + "c", False),
]


@pytest.mark.parametrize(
    ("rule", "path", "expected"),
    ATTACKS,
    ids=[f"{rule} vs {len(path)} chars" for rule, path, _ in ATTACKS],
)
def test_a_long_segment_is_matched_at_once(rule: str, path: str, expected: bool) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MATCH_IN_A_CHILD, rule, path],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert done.stdout.strip() == str(expected)


# (path, expected) against get:/files/*.*.*.*.json
VARIANTS = [
    ("/files/a.b.c.d.json", True),
    ("/files/....json", True),  # every "*" may be empty
    ("/files/a..b.c.d.e.json", True),
    ("/files/a.b.c.json", False),
    ("/files/a.b.c.d.jso", False),
    ("/files/a.b.c.d.json/x", False),
    ("/files", False),
]


@pytest.mark.parametrize(("path", "expected"), VARIANTS, ids=[p for p, _ in VARIANTS])
def test_many_stars_still_match_correctly(path: str, expected: bool) -> None:
    matcher = compile_rules([Rule.parse("get:/files/*.*.*.*.json")])
    assert matcher.permits("get", path) is expected
