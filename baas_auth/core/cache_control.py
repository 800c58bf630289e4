"""``Cache-Control: private`` for 2xx answers to requests that carried a token in the URI.

A token in the query string identifies one caller; a shared cache must not hand the answer to
another (behaviour §2). Does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["private_cache_control"]


def private_cache_control(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with ``private`` added to Cache-Control, unless it says private or no-store.

    A ``public`` directive is dropped: it contradicts ``private``.
    """
    directives: list[str] = []
    others: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() != "cache-control":
            others.append((name, value))
            continue
        directives.extend(d.strip() for d in value.split(",") if d.strip())
    lowered = {d.lower().split("=", 1)[0] for d in directives}
    if "private" in lowered or "no-store" in lowered:
        return list(headers)
    kept = [d for d in directives if d.lower() != "public"]
    return [*others, ("Cache-Control", ", ".join(["private", *kept]))]
