"""The realm: directory, token service and permission resolver, written once as flows
(``baas_auth.realm.flows``) and driven by ``Realm`` over a blocking ``Store`` or by
``AsyncRealm`` over an ``AsyncStore``."""

from __future__ import annotations

from baas_auth.realm.aio import AsyncRealm
from baas_auth.realm.layout import LayoutUpgradeWarning
from baas_auth.realm.sync import Realm

__all__ = ["AsyncRealm", "LayoutUpgradeWarning", "Realm"]
