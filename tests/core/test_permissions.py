"""Table-driven tests of the rule grammar and matcher (behaviour §5.1)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from baas_auth.core.permissions import (
    ALL_ACCESS,
    EMPTY_MATCHER,
    VERBS,
    Rule,
    compile_rules,
    verb_for_method,
)
from baas_auth.errors import ConfigError

ALICE = ("0f8fad5b-d9cb-469f-a165-70867728950e", "alice")


def allows(
    rules: str | Sequence[str],
    verb: str,
    path: str,
    identity: Sequence[str] = (),
    *,
    case_sensitive: bool = True,
) -> bool:
    texts = [rules] if isinstance(rules, str) else rules
    matcher = compile_rules([Rule.parse(t) for t in texts], case_sensitive=case_sensitive)
    return matcher.permits(verb, path, identity)


# (pattern, path, expected)
PATH_CASES = [
    # behaviour §5.1: ** is zero or more whole segments
    ("/users/**", "/users", True),
    ("/users/**", "/users/a", True),
    ("/users/**", "/users/a/b/c", True),
    ("/users/**", "/usersx", False),
    ("/users/**", "/", False),
    ("/**", "/", True),
    ("/**", "/a/b/c", True),
    ("/**", "/anything/at/all", True),
    ("/**/likes", "/likes", True),
    ("/**/likes", "/a/b/likes", True),
    ("/**/likes", "/a/likes/b", False),
    ("/**/likes", "/users/likes", True),
    ("/a/**/b/**/c", "/a/b/c", True),
    ("/a/**/b/**/c", "/a/x/b/y/z/c", True),
    ("/a/**/b/**/c", "/a/c", False),
    ("/a/**/**/b", "/a/b", True),
    # "**" right after another edge still matches zero segments
    ("/*/**", "/x", True),
    ("/*/a/**", "/x/a", True),
    ("/a?/**", "/ab", True),
    ("/**/a/**", "/a", True),
    ("/**/a/**", "/x/y/a/z", True),
    ("/**/*/**", "/x", True),
    ("/**/*/**", "/", False),
    # whole-segment * is exactly one non-empty segment
    ("/devices/*", "/devices/d1", True),
    ("/devices/*", "/devices", False),
    ("/devices/*", "/devices/d1/x", False),
    ("/*", "/", False),
    ("/*/x", "/a/x", True),
    # * and ? inside a segment
    ("/us*", "/users", True),
    ("/us*", "/us", True),
    ("/us*", "/u", False),
    ("/us*", "/bus", False),
    ("/us*", "/users/x", False),
    ("/*.json", "/a.json", True),
    ("/*.json", "/.json", True),
    ("/*.json", "/a.jsonx", False),
    ("/*.json", "/a/b.json", False),
    ("/a?c", "/abc", True),
    ("/a?c", "/ac", False),
    ("/a?c", "/abbc", False),
    ("/?", "/x", True),
    ("/?", "/xy", False),
    ("/a.c", "/abc", False),
    ("/[ab]", "/a", False),
    ("/[ab]", "/[ab]", True),
    # no wildcard: exact equality
    ("/foo", "/foo", True),
    ("/foo", "/foo/bar", False),
    ("/foo", "/fo", False),
    ("/foo", "/Foo", False),
    ("/users", "/users", True),
    ("/", "/", True),
    ("/", "/a", False),
    # the original system's documented examples, as the behaviour decides them
    ("/foo/bar/*", "/foo/bar/baz", True),
    ("/foo/bar/*", "/foo/bar", False),
    ("/foo/bar/*", "/foo/bar/baz/", False),
    ("/foo/bar/*", "/foo/bar/baz/boz", False),
    ("/foo/bar/**", "/foo/bar", True),
    ("/foo/bar/**", "/foo/bar/baz/boz", True),
    ("/foo/bar/**", "/foo/barx", False),
    ("/foo/bar/*/boz/*", "/foo/bar/baz/boz/biz", True),
    ("/foo/bar/*/boz/*", "/foo/bar/baz/boz", False),
    ("/foo/bar/*/boz/*", "/foo/bar/baz/boz/biz/box", False),
    ("/foo", "/foo/", False),
    # wildcards never match ".", ".." or empty segments; non-canonical paths are refused
    ("/*", "/.", False),
    ("/*", "/..", False),
    ("/a/*/b", "/a/./b", False),
    ("/a/*/b", "/a/../b", False),
    ("/a/*/b", "/a//b", False),
    ("/a/*", "/a/", False),
    ("/.*", "/.", False),
    ("/.?", "/..", False),
    ("/**", "/a/../b", False),
    ("/**", "/a//b", False),
    ("/**", "", False),
    ("/**", "a/b", False),
]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    PATH_CASES,
    ids=[f"{p} {'~' if e else '!~'} {q or 'EMPTY'}" for p, q, e in PATH_CASES],
)
def test_path_matching(pattern: str, path: str, expected: bool) -> None:
    assert allows(f"get:{pattern}", "get", path) is expected


# (pattern, path, identity, expected)
IDENTITY_CASES = [
    ("/users/me/**", "/users/alice/x", ALICE, True),
    ("/users/me/**", "/users/alice", ALICE, True),
    ("/users/me/**", f"/users/{ALICE[0]}", ALICE, True),
    ("/users/me/**", "/users/me/x", ALICE, True),
    ("/users/me/**", "/users/bob/x", ALICE, False),
    ("/users/me/**", "/users/ALICE/x", ALICE, False),
    ("/users/me/**", "/users", ALICE, False),
    ("/users/me/**", "/users/me", (), False),
    ("/users/me/**", "/users/alice", (), False),
    ("/users/me", "/users/me", ("",), False),
    ("/users/${user}", "/users/alice", ALICE, True),
    ("/users/${user}", f"/users/{ALICE[0]}", ALICE, True),
    ("/users/${user}", "/users/me", ALICE, True),
    ("/users/${user}", "/users/bob", ALICE, False),
    ("/users/${user}", "/users/${user}", ALICE, False),
    ("/users/${user}", "/users/me", (), False),
    ("/users/${user}/likes", "/users/alice/likes", ("alice",), True),
    ("/users/me", "/users/alice", "alice", True),
    ("/users/me", "/users/a", "alice", False),
    ("/users/me*", "/users/alice", ALICE, False),
    ("/users/me*", "/users/meow", (), True),
    ("/users/*", "/users/me", (), True),
]


@pytest.mark.parametrize(
    ("pattern", "path", "identity", "expected"),
    IDENTITY_CASES,
    ids=[f"{p} {'~' if e else '!~'} {q} as {i!r}" for p, q, i, e in IDENTITY_CASES],
)
def test_identity_segments(
    pattern: str, path: str, identity: Sequence[str], expected: bool
) -> None:
    assert allows(f"get:{pattern}", "get", path, identity) is expected


METHOD_CASES = [
    ("GET", "get"),
    ("HEAD", "get"),
    ("OPTIONS", "get"),
    ("PUT", "put"),
    ("POST", "post"),
    ("DELETE", "delete"),
    ("PATCH", "patch"),
    ("TRACE", None),
    ("CONNECT", None),
    ("PROPFIND", None),
    ("get", None),
    ("Get", None),
    ("", None),
]


@pytest.mark.parametrize(
    ("method", "verb"), METHOD_CASES, ids=[m or "EMPTY" for m, _ in METHOD_CASES]
)
def test_verb_for_method(method: str, verb: str | None) -> None:
    assert verb_for_method(method) == verb


# (rule, verb, expected)
VERB_CASES = [
    ("get:/a", "get", True),
    ("get:/a", "put", False),
    ("get:/a", "patch", False),
    ("put:/a", "put", True),
    ("put:/a", "patch", True),
    ("patch:/a", "patch", True),
    ("patch:/a", "put", False),
    ("post:/a", "patch", False),
    ("delete:/a", "delete", True),
    ("delete:/a", "get", False),
    ("*:/a", "delete", True),
    (":/a", "patch", True),
    ("/a", "post", True),
    ("GET,Post:/a", "post", True),
    ("GET,Post:/a", "delete", False),
    ("get:/a", "head", False),
    ("get:/a", "GET", False),
    ("get:/a", "", False),
]


@pytest.mark.parametrize(
    ("rule", "verb", "expected"), VERB_CASES, ids=[f"{r} {v or 'EMPTY'}" for r, v, _ in VERB_CASES]
)
def test_verbs(rule: str, verb: str, expected: bool) -> None:
    assert allows(rule, verb, "/a") is expected


# (pattern, path, identity, case-insensitive result, case-sensitive result)
CASE_CASES = [
    ("/Foo", "/foo", (), True, False),
    ("/foo", "/FOO", (), True, False),
    ("/US*", "/users", (), True, False),
    ("/a?C", "/Abc", (), True, False),
    ("/Users/**", "/USERS/x", (), True, False),
    ("/users/me", "/users/ALICE", ("alice",), True, False),
    ("/users/ME", "/users/alice", ("Alice",), True, False),
    ("/users/${user}", "/users/Me", ("x",), True, False),
    ("/users/me", "/users/bob", ("alice",), False, False),
    ("/stra?e", "/STRASSE", (), False, False),
    ("/stra??e", "/straße", (), True, False),
]


@pytest.mark.parametrize(
    ("pattern", "path", "identity", "insensitive", "sensitive"),
    CASE_CASES,
    ids=[f"{p} vs {q}" for p, q, *_ in CASE_CASES],
)
def test_case_modes(
    pattern: str, path: str, identity: tuple[str, ...], insensitive: bool, sensitive: bool
) -> None:
    rule = f"get:{pattern}"
    assert allows(rule, "get", path, identity, case_sensitive=False) is insensitive
    assert allows(rule, "get", path, identity, case_sensitive=True) is sensitive


REJECTED = [
    ("", "empty"),
    ("   ", "blank"),
    ("gets:/a", "unknown verb"),
    ("head:/a", "head is not a rule verb"),
    ("get put:/a", "verbs without comma"),
    ("get,,put:/a", "empty verb item"),
    ("get,:/a", "trailing verb comma"),
    ("get:", "empty pattern list"),
    ("get:   ", "blank pattern list"),
    ("get:/a,,/b", "empty pattern item"),
    ("get:/a,", "trailing pattern comma"),
    ("get:/a:b", "second colon"),
    ("get://a", "leading double slash"),
    ("get:/a//b", "empty segment"),
    ("get:/a/", "trailing slash"),
    ("get:/./a", "dot segment"),
    ("get:/a/..", "dotdot segment"),
    ("get:/a/**/../b", "dotdot after double star"),
    ("get:/a\tb", "tab"),
    ("\tget:/a", "tab around an item"),
    ("get:/a\n", "newline"),
    ("get:/a\x00", "NUL"),
    ("get:/a\x7f", "DEL"),
    ("get:/a\x85", "C1 control"),
    ("get:/a\u200bb", "zero-width space"),
    ("get:/a\u00a0b", "no-break space"),
    ("get:/a b", "inner space"),
    ("get:/a\\b", "backslash"),
    ("get:/a%2e", "percent"),
    ("get:/a#b", "hash"),
    ("get:/a;b", "semicolon"),
    ("get:users", "pattern without leading slash"),
    ("get:/a,b", "second pattern without leading slash"),
    ("get:*", "lone star pattern"),
    ("get:**", "lone double star pattern"),
    ("*", "lone star rule"),
    ("**/likes", "verbless pattern without leading slash"),
    ("get", "bare verb"),
    ("get/books", "verb and path without colon"),
    ("get:/books/<id>", "angle placeholder"),
    ("get:/a<b", "angle bracket inside a segment"),
    ("get:/books/:id", "colon placeholder"),
    ("/books/:id", "colon placeholder without verbs"),
    ("get:/{id}", "brace variable"),
    ("get:/a{user}", "braces inside a segment"),
    ("get:/${user}x", "user variable with suffix"),
    ("get:/${USER}", "upper-case user variable"),
    ("get:/${user", "unclosed brace"),
    ("get:/a**", "double star with prefix"),
    ("get:/**.json", "double star with suffix"),
    ("get:/***", "triple star"),
]


@pytest.mark.parametrize(("text", "reason"), REJECTED, ids=[r for _, r in REJECTED])
def test_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(ConfigError):
        Rule.parse(text)


# (rule, a fragment of the message): a typo is refused with what to write instead (§5.1 rev 2)
TYPOS = [
    ("get", "rule 'get' has no ':'"),
    ("read", "rule 'read' has no ':'"),
    ("get/books", "write 'get:/books'"),
    ("GET", "write 'get:' and a path"),
    ("*", "write '/**'"),
    ("**/likes", "write '/**/likes'"),
    ("GET:/books/<id>", "placeholders such as '<id>' are not supported"),
    ("get:/books/{id}", "placeholders such as '{id}' are not supported"),
    ("get:/books/:id", "placeholders such as ':id' are not supported"),
    ("/books/:id", "placeholders such as ':id' are not supported"),
    ("get:/${id}", "placeholders such as '${id}' are not supported"),
    ("get:books", "path patterns start with '/': write '/books'"),
    ("get:/a,books/**", "write '/books/**'"),
    ("get:*", "write '/**'"),
    ("get:/a:b", "':' in a path pattern of rule 'get:/a:b'"),
    ("get:/a,,/b", "empty path pattern in rule 'get:/a,,/b'"),
]


@pytest.mark.parametrize(("text", "fragment"), TYPOS, ids=[t for t, _ in TYPOS])
def test_rule_typos_are_refused_with_a_hint(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Rule.parse(text)
    assert fragment in str(refused.value)


@pytest.mark.parametrize("text", ["GET:/books/<id>", "get:/books/{id}", "get:/books/:id"])
def test_placeholder_hint_says_use_a_star(text: str) -> None:
    with pytest.raises(ConfigError, match=r"use '\*' for one segment"):
        Rule.parse(text)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(ConfigError):
        Rule.parse(None)  # type: ignore[arg-type]


INVALID_RULES = [
    (frozenset(), ("/a",), "no verbs"),
    (frozenset({"head"}), ("/a",), "unknown verb"),
    (frozenset({"get"}), (), "no patterns"),
    (frozenset({"get"}), ("a",), "no leading slash"),
    (frozenset({"get"}), ("*",), "lone star"),
    (frozenset({"get"}), ("/a", "/a"), "duplicate pattern"),
    (frozenset({"get"}), ("/**/**",), "uncollapsed double star"),
    (frozenset({"get"}), ("/a/",), "trailing slash"),
    (frozenset({"get"}), ("/books/<id>",), "angle placeholder"),
    (frozenset({"get"}), ("/books/:id",), "colon placeholder"),
]


@pytest.mark.parametrize(
    ("verbs", "patterns", "reason"), INVALID_RULES, ids=[r for *_, r in INVALID_RULES]
)
def test_rule_constructor_validates(
    verbs: frozenset[str], patterns: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(ConfigError):
        Rule(verbs, patterns)


CANONICAL = [
    ("get:/a", "get:/a"),
    ("GET:/a", "get:/a"),
    (" post , Get : /a , /b ", "get,post:/a,/b"),
    ("/a", "*:/a"),
    (":/a", "*:/a"),
    ("get,put,post,delete,patch:/a", "*:/a"),
    ("patch,delete,post,put,get:/a", "*:/a"),
    ("get,put,post,delete:/**", "get,put,post,delete:/**"),
    ("*,get:/a", "*:/a"),
    ("get,get:/a", "get:/a"),
    ("GET:/books/*", "get:/books/*"),
    ("/books/**", "*:/books/**"),
    (" /books/** ", "*:/books/**"),
    ("/**/likes", "*:/**/likes"),
    ("/*/x", "*:/*/x"),
    ("get:/a,/a, /a", "get:/a"),
    ("get:/**,/**/**", "get:/**"),
    ("get:/a/**/**/b", "get:/a/**/b"),
    ("get:/**/**", "get:/**"),
    ("get:/", "get:/"),
    ("get:/b,/a", "get:/b,/a"),
    ("delete,get:/users/${user}", "get,delete:/users/${user}"),
    ("patch:/a", "patch:/a"),
    ("get:/*.json,/a?", "get:/*.json,/a?"),
    ("get:/Users/ME", "get:/Users/ME"),
    ("get:/café/$", "get:/café/$"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL, ids=[t for t, _ in CANONICAL])
def test_canonical_str(text: str, canonical: str) -> None:
    rule = Rule.parse(text)
    assert str(rule) == canonical
    assert Rule.parse(str(rule)) == rule


def test_parsed_fields() -> None:
    rule = Rule.parse(" Delete , get : /b , /a ,/**")
    assert rule.verbs == frozenset({"get", "delete"})
    assert rule.patterns == ("/b", "/a", "/**")
    assert Rule.parse("/x").verbs == frozenset(VERBS)


def test_rule_is_frozen_value() -> None:
    rule = Rule.parse("get:/a")
    assert rule == Rule(frozenset({"get"}), ("/a",))
    assert hash(rule) == hash(Rule.parse("GET : /a"))
    with pytest.raises(AttributeError):
        rule.patterns = ("/b",)  # type: ignore[misc]


def test_union_of_rules() -> None:
    rules = ["post:/users", "post:/devices", "put:/devices/*"]
    assert allows(rules, "post", "/users")
    assert allows(rules, "put", "/devices/d1")
    assert allows(rules, "patch", "/devices/d1")
    assert not allows(rules, "put", "/devices")
    assert not allows(rules, "get", "/users")


def test_same_pattern_different_verbs_merge() -> None:
    rules = ["get:/a/*", "post:/a/*", "delete:/a/x"]
    assert allows(rules, "get", "/a/x")
    assert allows(rules, "post", "/a/y")
    assert allows(rules, "delete", "/a/x")
    assert not allows(rules, "delete", "/a/y")


def test_all_access_and_empty() -> None:
    for verb in VERBS:
        assert ALL_ACCESS.permits(verb, "/")
        assert ALL_ACCESS.permits(verb, "/any/path/at/all")
        assert not EMPTY_MATCHER.permits(verb, "/")
        assert not EMPTY_MATCHER.permits(verb, "/a")
    assert not ALL_ACCESS.permits("get", "/a/../b")
    assert len(ALL_ACCESS) == 1
    assert len(EMPTY_MATCHER) == 0


def test_len_counts_rule_pattern_entries() -> None:
    rules = [Rule.parse("get:/a,/b"), Rule.parse("put:/a"), Rule.parse("/**")]
    assert len(compile_rules(rules)) == 4


def test_compile_accepts_any_iterable() -> None:
    matcher = compile_rules(Rule.parse(t) for t in ["get:/a", "get:/b"])
    assert matcher.permits("get", "/b")


def test_ten_thousand_rules() -> None:
    rules = [Rule.parse(f"get:/res{i}/*/items/*") for i in range(10_000)]
    rules.append(Rule.parse("put:/res9999/**"))
    matcher = compile_rules(rules)
    assert len(matcher) == 10_001
    assert matcher.permits("get", "/res0/x/items/y")
    assert matcher.permits("get", "/res9999/x/items/y")
    assert not matcher.permits("get", "/res10000/x/items/y")
    assert not matcher.permits("get", "/res5/x/items")
    assert not matcher.permits("get", "/res5/x/items/y/z")
    assert not matcher.permits("post", "/res5/x/items/y")
    assert matcher.permits("patch", "/res9999/x")
    assert not matcher.permits("put", "/res9998/x/items/y")


def test_long_pattern_compiles() -> None:
    deep = "/" + "/".join(["*"] * 3000)
    matcher = compile_rules([Rule.parse(f"get:{deep}")])
    assert matcher.permits("get", "/" + "/".join(["x"] * 3000))
    assert not matcher.permits("get", "/" + "/".join(["x"] * 2999))


def test_ten_thousand_glob_rules_share_prefix_index() -> None:
    rules = [Rule.parse(f"get:/item{i}.*") for i in range(10_000)]
    rules += [Rule.parse("put:/*.bak"), Rule.parse("post:/it?m*.tmp")]
    matcher = compile_rules(rules)
    assert matcher.permits("get", "/item9999.json")
    assert matcher.permits("get", "/item0.")
    assert not matcher.permits("get", "/item10000.json")
    assert not matcher.permits("get", "/item5")
    assert matcher.permits("put", "/item5.bak")
    assert matcher.permits("post", "/itxm12.tmp")
    assert not matcher.permits("post", "/item12.json")
