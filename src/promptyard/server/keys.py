"""API keys: created once, shown once, stored as a sha256 hash.

Keys look like ``py_<key_id>_<secret>``. They are long random strings, so a fast hash is
the right tool (no password stretching needed); the plain key is never stored or logged.
Verified keys are memoised for a few seconds so auth costs no database round trip on
the hot path; revocation takes effect within that window. While the database is
unreachable, keys verified before keep working (counted in ``database_stale_served``);
unknown keys get 503 naming the database.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel
from sqlalchemy import select

from promptyard import dependencies
from promptyard.errors import AuthError, DependencyUnavailable, InvalidInput, NotFound, PermissionDenied
from promptyard.store.base import utcnow
from promptyard.store.db import Database
from promptyard.store.tables.registry import ApiKeyRow

Role = Literal["admin", "app", "viewer"]
ROLES: tuple[str, ...] = get_args(Role)
#: What each role may do: admin everything, app render/run plus reads, viewer reads.
_RANK = {"viewer": 0, "app": 1, "admin": 2}


class ApiKey(BaseModel):
    key_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, needed: Role) -> bool:
        return _RANK[self.role] >= _RANK[needed]


class CreatedKey(BaseModel):
    key: ApiKey
    secret: str
    """The full key. Shown once; only its hash is stored."""


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, db: Database, *, memo_seconds: float = 5.0) -> None:
        self._db = db
        self._memo: dict[str, tuple[float, ApiKey]] = {}
        self._memo_seconds = memo_seconds

    def create(self, name: str, role: str) -> CreatedKey:
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}", hint="roles: " + ", ".join(ROLES))
        key_id = secrets.token_hex(6)
        secret = f"py_{key_id}_{secrets.token_urlsafe(24)}"
        with self._db.session() as s:
            row = ApiKeyRow(key_id=key_id, name=name, role=role, key_hash=hash_key(secret), created_at=utcnow())
            s.add(row)
        return CreatedKey(key=ApiKey(key_id=key_id, name=name, role=role, created_at=row.created_at), secret=secret)

    def list(self) -> list[ApiKey]:
        with self._db.session() as s:
            rows = s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all()
            return [_to_model(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with self._db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"no API key {key_id!r}")
            row.revoked_at = utcnow()
            self._memo.clear()
            return _to_model(row)

    def verify(self, secret: str | None) -> ApiKey:
        """The key for ``secret``; AuthError when missing, unknown or revoked."""
        if not secret:
            raise AuthError("missing API key", hint="send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        digest = hash_key(secret)
        now = time.monotonic()
        hit = self._memo.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            with self._db.session() as s:
                row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
                if row is None or row.revoked_at is not None:
                    raise AuthError("invalid or revoked API key")
                key = _to_model(row)
        except DependencyUnavailable as exc:
            # The database is down: a key verified before stays valid (revocations wait for it to return).
            if hit is None:
                raise
            dependencies.served_stale("API key check", exc)
            return hit[1]
        if len(self._memo) > 10_000:
            self._memo.clear()
        self._memo[digest] = (now + self._memo_seconds, key)
        return key

    @staticmethod
    def require(key: ApiKey, role: Role) -> None:
        if not key.allows(role):
            raise PermissionDenied(f"this needs the {role!r} role; key {key.key_id!r} has {key.role!r}")


def _to_model(row: ApiKeyRow) -> ApiKey:
    return ApiKey(key_id=row.key_id, name=row.name, role=row.role, created_at=row.created_at, revoked_at=row.revoked_at)
