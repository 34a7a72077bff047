"""Guards at ingest: each new or changed chunk is checked once (``PROMPTYARD_GUARDS_INGEST``), its verdict stored.

Actions do not apply here (nothing is blocked at ingest): verdicts are flags, kept in the
verdict store and logged. At answer time a retrieved text whose verdict is stored, for the
same detection settings, is not checked again (a document made of one chunk, a text seen before).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptyard.rag.service import RagService

log = logging.getLogger("promptyard.guards")


def scan_chunks(rag: RagService, corpus: str, doc_ids: set[str]) -> int:
    """Check the chunks of ``doc_ids`` in ``corpus``; returns how many triggered a guard."""
    gateway = rag.gateway
    runner = getattr(getattr(gateway, "guards", None), "runner", None)
    if runner is None:
        log.warning("no guard runner on this gateway: chunks of %s not scanned at ingest", corpus)
        return 0
    info = rag.corpus(corpus)
    chunks = [h for h in rag.store.all_chunks(corpus, limit=max(info.chunks, 1)) if h.doc_id in doc_ids]
    specs = [s.model_copy(update={"action": "flag"}) for s in rag.settings.guards_ingest]
    outcome = runner.check_inputs(specs, [(f"chunk:{h.chunk_id}", h.text) for h in chunks])
    flagged = [v for v in outcome.verdicts if v.triggered or v.error]
    for v in flagged:
        log.warning("ingest: guard %s flagged %s (score %.2f): %s", v.guard, v.where, v.score, v.error or v.reason)
    return len(flagged)
