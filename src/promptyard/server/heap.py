"""Garbage-collector settings for a long-running server: no full collections of start-up objects.

After start-up the process holds hundreds of thousands of long-lived objects (FastAPI,
pydantic, SQLAlchemy, prometheus_client, the registry). Every full (generation 2) collection
walks all of them while holding the GIL, a pause of several milliseconds that lands on
whichever request is running. ``gc.freeze()`` moves them to the permanent generation, which
the collector never scans, so a collection walks only what requests allocated since.
"""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Collect once, then exempt every surviving object from future collections."""
    gc.collect()
    gc.freeze()
