"""The realm: directory, token service and permission resolver, written once as flows (one
module per subject: ``directory``, ``grants``, ``token_flows``, …) and driven by ``AsyncRealm``
over an ``AsyncStore`` or by ``Realm``, generated from it, over a blocking ``Store``."""

from __future__ import annotations

from baas_auth.realm.aio import AsyncRealm
from baas_auth.realm.layout import LayoutUpgradeWarning
from baas_auth.realm.sync import Realm

__all__ = ["AsyncRealm", "LayoutUpgradeWarning", "Realm"]
