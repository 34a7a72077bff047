"""A throwaway Postgres schema per test, for the fixtures of the plain and the pgvector server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fresh_schema(admin_url: str, *, with_public: bool = False) -> Iterator[str]:
    """``admin_url`` with ``search_path`` set to a new schema (then ``public``, where extensions live,
    if ``with_public``); the schema is dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    search_path = f"{schema}%2Cpublic" if with_public else schema
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin_url}{'&' if '?' in admin_url else '?'}options=-csearch_path%3D{search_path}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
