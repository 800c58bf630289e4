"""Import documents as API BaaS (Usergrid) would export them, for the import tests.

Credentials records are computed here the way the original's encryption commands compute them:
the password's UTF-8 bytes run through each command of the chain (``md5``: the hex digest as
ASCII, ``sha-1``: the raw digest, each after an optional salt prefix; ``bcrypt``: the
``$2a$`` string), and the stored secret is the unpadded base64url of the last output. Client ids
are the type prefix and the base64url of the org's or app's uuid; secrets the prefix and the
base64url of a SHA-1 digest, as the original makes them.
"""

from __future__ import annotations

import base64
import hashlib
import uuid as uuid_module
from typing import Any

import bcrypt

__all__ = [
    "SCHEMES",
    "client",
    "credentials",
    "export_document",
    "fixed_uuid",
    "legacy_credentials",
    "user",
]

SCHEMES = ["plaintext", "md5", "sha-1", "bcrypt", "md5+salt", "sha-1+salt", "md5,bcrypt"]
"""The chains the import tests cover; ``+salt``: with a per-application salt."""
SALT = "per-app salt"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def fixed_uuid(name: str) -> str:
    """A stable uuid for a name, so that a document made twice is the same document."""
    return str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"usergrid:{name}"))


def _run(step: str, data: bytes, salt: bytes) -> bytes:
    if step == "md5":
        return hashlib.md5(salt + data).hexdigest().encode("ascii")  # noqa: S324 - the original's
    if step == "sha-1":
        return hashlib.sha1(salt + data).digest()  # noqa: S324 - the original's
    if step == "bcrypt":
        text = data.decode("utf-8", "replace").encode("utf-8")
        return bcrypt.hashpw(text, bcrypt.gensalt(rounds=4, prefix=b"2a"))
    assert step == "plaintext"
    return data


def credentials(scheme: str, password: str) -> dict[str, Any]:
    """A ``credentials`` dictionary holding ``password`` under ``scheme`` (one of SCHEMES)."""
    chain_text, _, salted = scheme.partition("+")
    chain = chain_text.split(",")
    if chain == ["plaintext"]:
        record: dict[str, Any] = {"cryptoChain": chain, "secret": password, "recoverable": True}
        return {"password": record}
    salt = SALT.encode() if salted else b""
    output = password.encode("utf-8")
    for step in chain:
        output = _run(step, output, salt)
    record = {"cryptoChain": chain, "secret": b64(output), "encrypted": True, "created": 1}
    if salted:
        record["salt"] = SALT
    return {"password": record}


def legacy_credentials(password: str) -> dict[str, Any]:
    """An older record with no cryptoChain: ``hashType`` md5, then ``cipher`` sha-1."""
    digest = hashlib.sha1(hashlib.md5(password.encode()).hexdigest().encode()).digest()  # noqa: S324
    return {"password": {"hashType": "md5", "cipher": "sha-1", "secret": b64(digest)}}


def client(kind: str, owner: str) -> dict[str, str]:
    """Client credentials as the original makes them for an org (``b3U6``) or app (``YXA6``)."""
    prefix = {"org": "b3U6", "app": "YXA6"}[kind]
    client_id = prefix + b64(uuid_module.UUID(fixed_uuid(owner)).bytes)
    secret = prefix + b64(hashlib.sha1(f"secret of {owner}".encode()).digest())  # noqa: S324
    return {"client_id": client_id, "client_secret": secret}


def user(name: str, scheme: str, password: str, **fields: Any) -> dict[str, Any]:
    """A user entity as exported: uuid, names, flags and its credentials record."""
    return {
        "uuid": fixed_uuid(f"user:{name}"),
        "type": "user",
        "username": name,
        "email": f"{name}@example.com",
        "activated": True,
        "disabled": False,
        "credentials": credentials(scheme, password),
        **fields,
    }


def export_document(
    users: list[dict[str, Any]] | None = None, *, org: str = "acme"
) -> dict[str, Any]:
    """Org ``org`` (org credentials) with app shop (accesstokenttl, app credentials, roles,
    groups, ``users``) and admin ann (sha-1)."""
    return {
        "version": 1,
        "organizations": [
            {
                "uuid": fixed_uuid(f"org:{org}"),
                "name": org,
                "credentials": [client("org", org)],
                "applications": [
                    {
                        "uuid": fixed_uuid(f"app:{org}/shop"),
                        "name": f"{org}/shop",
                        "accesstokenttl": 3_600_000,
                        "credentials": [client("app", f"{org}/shop")],
                        "roles": [
                            {"name": "default", "uuid": fixed_uuid("role:default"),
                             "permissions": ["get:/books/**"]},
                            {"name": "guest", "uuid": fixed_uuid("role:guest"),
                             "permissions": ["post:/users"]},
                            {"name": "editor", "uuid": fixed_uuid("role:editor"),
                             "inactivity": 0, "permissions": ["put,post:/books/*"]},
                            {"name": "auditor", "permissions": ["get:/audit/**"]},
                        ],
                        "groups": [
                            {"path": "staff", "uuid": fixed_uuid("group:staff"),
                             "permissions": ["get:/staff/**"], "roles": ["auditor"]},
                        ],
                        "users": users if users is not None else [],
                    }
                ],
            }
        ],
        "admins": [
            {
                "uuid": fixed_uuid("admin:ann"),
                "username": "ann",
                "email": "ann@example.com",
                "activated": True,
                "organizations": [{"uuid": fixed_uuid(f"org:{org}"), "name": org}],
                "credentials": credentials("sha-1", "ann-password"),
            }
        ],
    }
