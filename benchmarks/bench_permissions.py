"""Cost of one permission check as the rule count grows, and of compiling the rules.

``Realm.permits`` and the compiled ``Matcher.permits`` on N rules (N-1 ``get:/res{i}/*/items/*``
and a last ``get:/users/*/profile/*``, granted to the ``default`` role), beside pycasbin's
keyMatch2 RBAC model on the same policy when pycasbin is installed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from _apps import dist
from _realms import FAST_HASHER, PASSWORD
from _timing import Report, Settings, cli, measure, repeat, result

from baas_auth import MemoryStore, Principal, Realm, Rule
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.permissions import Matcher, compile_rules

SIZES = (10, 100, 1_000, 10_000)
CASBIN_SIZES = (10, 100, 1_000)  # pycasbin takes ~0.6 s per check at 10,000 lines
REQUESTS = (
    ("first", "/res0/7/items/1", True),
    ("last", "/users/me/profile/x", True),
    ("deny", "/nothing/here", False),
)
CASBIN_MODEL = """[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && r.act == p.act
"""


class SanityError(RuntimeError):
    """A check answered wrongly; its timing would measure a broken path."""


def rule_texts(n: int) -> list[str]:
    """The N rules of the benchmark, in canonical text."""
    return [*(f"get:/res{i}/*/items/*" for i in range(n - 1)), "get:/users/*/profile/*"]


def _expect(answer: bool, wanted: bool, what: str) -> None:
    if answer is not wanted:
        raise SanityError(f"{what}: answered {answer}, expected {wanted}")


# -- baas_auth ------------------------------------------------------------------------------------


def _add(
    report: Report,
    group: str,
    name: str,
    call: Callable[[], object],
    settings: Settings,
    **params: object,
) -> None:
    report.add(result(group, name, measure(repeat(call), settings), **params))


def new_realm() -> Realm:
    """A realm of its own for each rule count, so that one size's objects do not slow the
    garbage collector while the next size is measured."""
    realm = Realm(MemoryStore(), password_hasher=FAST_HASHER)
    realm.create_org("acme")
    return realm


def seed_app(realm: Realm, app: str, texts: list[str]) -> Principal:
    """An app whose ``default`` role holds ``texts``, and the principal of its user alice.

    The role record is written in one put: ``Realm.grant`` rewrites the whole role per rule, so
    granting 10,000 rules one by one is quadratic (its cost is measured separately).
    """
    realm.create_app("acme", app, roles="locked")
    role = rec.RoleRecord("default", 0, [str(Rule.parse(text)) for text in texts])
    realm.store.put(record_keys.role_key("acme", app, "default"), rec.encode(role))
    realm.create_user("acme", app, "alice", password=PASSWORD)
    token = realm.password_token("acme", app, "alice", PASSWORD).access_token
    return realm.authenticate_token(token)


def realm_rows(n: int, settings: Settings, report: Report) -> None:
    """``Realm.permits`` with the user's policy compiled, then right after a directory write."""
    realm = new_realm()
    principal = seed_app(realm, "rules", rule_texts(n))

    def permits(path: str) -> bool:
        return realm.permits(principal, "GET", path, org="acme", app="rules")

    for case, path, wanted in REQUESTS:
        _expect(permits(path), wanted, f"Realm.permits {n} rules {case}")
        _add(
            report,
            "permissions",
            f"Realm.permits, {n:,} rules, {case}",
            partial(permits, path),
            settings,
            impl="Realm.permits",
            rules=n,
            case=case,
        )

    def after_write() -> bool:
        realm.store.put("bench:bump", b"")  # any directory write starts a new generation
        return permits(REQUESTS[1][1])

    _add(
        report,
        "compile",
        f"Realm.permits after a directory write, {n:,} rules",
        after_write,
        settings,
        impl="Realm.permits cold",
        rules=n,
    )


def matcher_rows(n: int, settings: Settings, report: Report) -> None:
    """The compiled ``Matcher`` alone, and what compiling it costs."""
    texts = rule_texts(n)
    parsed = [Rule.parse(text) for text in texts]
    matcher: Matcher = compile_rules(parsed)
    names = ("2f1c0e4e-0000-4000-8000-000000000000", "alice")
    for case, path, wanted in REQUESTS:
        _expect(matcher.permits("get", path, names), wanted, f"Matcher.permits {n} {case}")
        _add(
            report,
            "permissions",
            f"Matcher.permits, {n:,} rules, {case}",
            partial(matcher.permits, "get", path, names),
            settings,
            impl="Matcher.permits",
            rules=n,
            case=case,
        )
    _add(
        report,
        "compile",
        f"compile_rules, {n:,} parsed rules",
        partial(compile_rules, parsed),
        settings,
        impl="compile_rules",
        rules=n,
    )
    _add(
        report,
        "compile",
        f"Rule.parse of {n:,} rule texts",
        lambda: [Rule.parse(t) for t in texts],
        settings,
        impl="Rule.parse",
        rules=n,
    )


def grant_rows(n: int, settings: Settings, report: Report) -> None:
    """``Realm.grant`` of one more rule into a role that already holds about ``n`` rules."""
    realm = new_realm()
    seed_app(realm, "grants", rule_texts(n))
    counter = iter(range(10**9))

    def grant() -> None:
        realm.grant("acme", "grants", f"get:/extra{next(counter)}/*", role="default")

    _add(
        report,
        "grant",
        f"Realm.grant into a role of {n:,} rules",
        grant,
        settings,
        impl="Realm.grant",
        rules=n,
    )


# -- pycasbin -------------------------------------------------------------------------------------


def casbin_policy(n: int) -> str:
    """The same N rules as a pycasbin policy: role ``Default`` held by ``alice``."""
    lines = ["g, alice, Default"]
    lines += [f"p, Default, /res{i}/:id/items/*, GET" for i in range(n - 1)]
    lines.append("p, Default, /users/:id/profile/*, GET")
    return "\n".join(lines) + "\n"


def casbin_rows(folder: Path, n: int, settings: Settings, report: Report) -> None:
    import casbin

    model, policy = folder / "model.conf", folder / f"policy{n}.csv"
    model.write_text(CASBIN_MODEL)
    policy.write_text(casbin_policy(n))

    def load() -> Any:
        return casbin.Enforcer(str(model), str(policy))

    enforcer = load()
    for case, path, wanted in REQUESTS:
        _expect(enforcer.enforce("alice", path, "GET"), wanted, f"pycasbin {n} rules {case}")
        _add(
            report,
            "permissions",
            f"pycasbin enforce, {n:,} rules, {case}",
            partial(enforcer.enforce, "alice", path, "GET"),
            settings,
            impl="pycasbin",
            rules=n,
            case=case,
        )
    _add(
        report,
        "compile",
        f"pycasbin Enforcer load, {n:,} policy lines",
        load,
        settings,
        impl="pycasbin load",
        rules=n,
    )


def run(settings: Settings, report: Report) -> None:
    for n in SIZES:
        realm_rows(n, settings, report)
        matcher_rows(n, settings, report)
        grant_rows(n, settings, report)
    try:
        import casbin  # noqa: F401
    except ImportError as error:
        report.notes.append(f"pycasbin not measured: {error}")
    else:
        report.notes.append(f"pycasbin: {dist('pycasbin')}")
        folder = Path(tempfile.mkdtemp(prefix="baas-auth-bench-"))
        for n in CASBIN_SIZES:
            casbin_rows(folder, n, settings, report)


if __name__ == "__main__":
    cli(run)
