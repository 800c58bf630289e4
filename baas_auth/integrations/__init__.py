"""Framework helpers, each optional: ``baas_auth.integrations.fastapi``, ``.starlette``, ``.flask``,
``.django`` and ``.django_rest`` import their framework when they are imported themselves,
never from here.

This package holds the framework-free parts they share: what a route requires (``Requirement``),
the middleware's realm and options (``Guard``), and ``scope["auth"]`` (``AuthCredentials``).
"""

from __future__ import annotations

from baas_auth.integrations.requirements import Requirement
from baas_auth.middleware.admission import AUTHENTICATED, AuthCredentials, Guard

__all__ = ["AUTHENTICATED", "AuthCredentials", "Guard", "Requirement"]
