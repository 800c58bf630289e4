"""Permission rule text (behaviour §5.1): the ``verbs:paths`` grammar, ``Rule.parse`` and
``str(rule)``, and the verb each HTTP method is checked as. Pure.

The grammar is strict (rev 2): every pattern starts with ``/``, and a typo is refused with a hint,
never guessed at. Normalisation only collapses runs of ``**`` segments and drops duplicate patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from baas_auth.errors import ConfigError

__all__ = ["SELF_SEGMENTS", "UNSAFE_SEGMENTS", "VERBS", "VERB_BITS", "Rule", "verb_for_method"]

VERBS: tuple[str, ...] = ("get", "put", "post", "delete", "patch")

VERB_BITS = {verb: 1 << index for index, verb in enumerate(VERBS)}
_ALL_VERBS = frozenset(VERBS)
_METHOD_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "OPTIONS": "get",
    "PUT": "put",
    "POST": "post",
    "DELETE": "delete",
    "PATCH": "patch",
}
# Characters the HTTP layer refuses in a route path (behaviour §5.2), so a pattern holding one could
# never match; plus the space, which in a rule is far likelier a missing comma than a path.
_FORBIDDEN_CHARS = frozenset("\\%#;: ")
# Other routers' path variables ({id}, <id>, :id); only the whole segment ${user} is one here.
_PLACEHOLDER_CHARS = frozenset("{}<>")
_COLON_PLACEHOLDER = re.compile(r"(?:^|/)(:[^/,:]+)")
_USER_VARIABLE = "${user}"
SELF_SEGMENTS = frozenset({"me", _USER_VARIABLE})
UNSAFE_SEGMENTS = ("", ".", "..")
_UNSAFE_SET = frozenset(UNSAFE_SEGMENTS)


def verb_for_method(method: str) -> str | None:
    """The rule verb an HTTP method is checked as, or None for a method that is refused (405)."""
    return _METHOD_VERBS.get(method)


@dataclass(frozen=True, slots=True)
class Rule:
    """One permission rule: verbs allowed on path patterns. Build it with :meth:`parse`."""

    verbs: frozenset[str]
    patterns: tuple[str, ...]

    def __post_init__(self) -> None:
        # A Rule built directly must be as valid as a parsed one, so str() round-trips.
        if not self.verbs or not self.verbs <= _ALL_VERBS:
            raise ConfigError(f"rule verbs must be a non-empty subset of {VERBS}: {self.verbs!r}")
        if not self.patterns or len(set(self.patterns)) != len(self.patterns):
            raise ConfigError(f"rule patterns must be non-empty and distinct: {self.patterns!r}")
        for pattern in self.patterns:
            if _normalise_pattern(pattern) != pattern:
                raise ConfigError(f"path pattern {pattern!r} is not normalised; use Rule.parse")

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Parse ``verbs:paths`` (or ``/paths`` for every verb); raise ConfigError if invalid."""
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"a permission rule must be a non-empty string, not {text!r}")
        _check_printable(text)
        verb_text, colon, pattern_text = text.partition(":")
        # Verbs never hold a "/": a text whose first ":" comes after one is a path with a ":" in it
        # (a ":id" placeholder, say), refused with that reason rather than as an unknown verb.
        if not colon or verb_text.lstrip().startswith("/"):
            if not text.lstrip().startswith("/"):
                raise _verbless_error(text)
            verb_text, pattern_text = "", text
        return cls(_parse_verbs(verb_text, text), _parse_patterns(pattern_text, text))

    def __str__(self) -> str:
        if self.verbs == _ALL_VERBS:
            verbs = "*"
        else:
            verbs = ",".join(verb for verb in VERBS if verb in self.verbs)
        return f"{verbs}:{','.join(self.patterns)}"


def _verbless_error(text: str) -> ConfigError:
    """Refuse a rule without ':' that is not a path: ``get``, ``read``, ``get/books`` are typos."""
    stripped = text.strip()
    word, slash, rest = stripped.partition("/")
    if stripped == "*":
        hint = "'/**' for every verb on every path"
    elif word.lower() in VERB_BITS:
        verb = word.lower()
        hint = repr(f"{verb}:/{rest}") if slash else f"'{verb}:' and a path, e.g. '{verb}:/books'"
    elif slash:
        hint = repr(f"/{stripped}")
    else:
        hint = "'verbs:paths' such as 'get:/books/**', or a path such as '/books/**' for every verb"
    return ConfigError(f"rule {text!r} has no ':' and does not start with '/'; write {hint}")


def _placeholder_error(placeholder: str, where: str) -> ConfigError:
    return ConfigError(
        f"placeholders such as {placeholder!r} are not supported (in {where!r}); use '*' for one"
        " segment, or ${user} as a whole segment for the caller"
    )


def _check_printable(text: str) -> None:
    for char in text:
        if char != " " and not char.isprintable():
            raise ConfigError(f"control or invisible character {char!r} in rule {text!r}")


def _parse_verbs(verb_text: str, rule: str) -> frozenset[str]:
    if not verb_text.strip():
        return _ALL_VERBS
    verbs: set[str] = set()
    for item in verb_text.split(","):
        word = item.strip().lower()
        if word == "*":
            verbs.update(VERBS)
        elif word in VERB_BITS:
            verbs.add(word)
        else:
            raise ConfigError(f"unknown verb {item.strip()!r} in rule {rule!r}; use {VERBS} or *")
    return frozenset(verbs)


def _parse_patterns(pattern_text: str, rule: str) -> tuple[str, ...]:
    if ":" in pattern_text:
        placeholder = _COLON_PLACEHOLDER.search(pattern_text)
        if placeholder:
            raise _placeholder_error(placeholder.group(1), rule)
        raise ConfigError(f"':' in a path pattern of rule {rule!r}; one ':' ends the verbs")
    items = [item.strip() for item in pattern_text.split(",")]
    if "" in items:
        raise ConfigError(f"empty path pattern in rule {rule!r} (check for a stray ',')")
    return tuple(dict.fromkeys(_normalise_pattern(item) for item in items))


def _normalise_pattern(pattern: str) -> str:
    if not pattern:
        raise ConfigError("empty path pattern in rule (check for a stray ',')")
    if pattern == "*":
        raise ConfigError("path patterns start with '/': write '/**' for every path, not '*'")
    if not pattern.startswith("/"):
        raise ConfigError(f"path patterns start with '/': write {'/' + pattern!r}, not {pattern!r}")
    if pattern == "/":
        return pattern
    segments = pattern[1:].split("/")
    for segment in segments:
        _check_segment(segment, pattern)
    # "**/**" means the same as "**"; keeping one avoids duplicate walk states.
    kept = [s for i, s in enumerate(segments) if s != "**" or i == 0 or segments[i - 1] != "**"]
    return "/" + "/".join(kept)


def _check_segment(segment: str, pattern: str) -> None:
    if segment in UNSAFE_SEGMENTS:
        raise ConfigError(f"empty, '.' or '..' segment in path pattern {pattern!r}")
    if segment != _USER_VARIABLE and (
        not _PLACEHOLDER_CHARS.isdisjoint(segment) or _COLON_PLACEHOLDER.fullmatch(segment)
    ):
        raise _placeholder_error(segment, pattern)
    if not segment.isprintable() or not _FORBIDDEN_CHARS.isdisjoint(segment):
        raise ConfigError(f"forbidden character in path pattern {pattern!r}")
    if "**" in segment and segment != "**":
        raise ConfigError(f"'**' must be a whole segment in path pattern {pattern!r}")
