"""One change that ``apply`` makes to a realm: how the plan shows it, and the Realm calls that
make it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from baas_auth.cli.spec import RoleSpec
from baas_auth.realm import Realm

__all__ = ["Change", "Run", "calling", "recreate_role", "replace_provider"]

Run = Callable[[Realm], object]


@dataclass(frozen=True)
class Change:
    op: str
    """``+`` (made or added), ``-`` (deleted or taken away), ``~`` (a value changed)."""
    kind: str
    text: str
    run: Run = field(repr=False, compare=False)

    @property
    def line(self) -> str:
        return f"{self.op} {self.text}"


def calling(method: str, *args: object, **kwargs: object) -> Run:
    return lambda realm: getattr(realm, method)(*args, **kwargs)


def recreate_role(org: str, app: str, role: RoleSpec, rules: list[str]) -> Run:
    """A role's inactivity cannot change: delete it, make it again, grant its rules again."""

    def run(realm: Realm) -> None:
        realm.delete_role(org, app, role.name)
        realm.create_role(org, app, role.name, inactivity_ms=role.inactivity_ms)
        for rule in rules:
            realm.grant(org, app, rule, role=role.name)

    return run


def replace_provider(org: str, app: str | None, settings: dict[str, object]) -> Run:
    """A provider's settings change: remove it and add it with the new ones (its keys are
    fetched again; every process sees the new settings from its next request)."""

    def run(realm: Realm) -> None:
        realm.remove_identity_provider(org, app, str(settings["issuer"]))
        realm.add_identity_provider(org, app, **settings)  # type: ignore[arg-type]

    return run
