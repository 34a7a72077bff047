"""What the workspace pages show, gathered from the registry, traces and eval runs.

Plain data for the templates (which escape everything); no HTML is built here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptyard.errors import PromptyardError
from promptyard.prompts.diff import diff_prompts
from promptyard.prompts.records import LabelEvent, PromptVersion
from promptyard.prompts.refs import version_key
from promptyard.prompts.render import render_prompt
from promptyard.workspace.drafts import export_path, suggest_version
from promptyard.workspace.highlight import segments
from promptyard.workspace.sidebyside import side_by_side
from promptyard.workspace.stats import eval_scores, traffic

if TYPE_CHECKING:
    from promptyard.rag.models import Hit
    from promptyard.runtime import Runtime
    from promptyard.tracing.model import Trace

__all__ = ["diff_view", "list_view", "prompt_view", "rendered_messages", "retrieved_documents"]


def list_view(rt: Runtime, *, days: int = 7) -> dict[str, Any]:
    """Every prompt with its labels and per-version traffic, cost and error rate."""
    prompts = rt.registry.list_prompts()
    counts = traffic(rt.db, days=days)
    rows = []
    for p in prompts:
        briefs = {b.version: b for b in rt.registry.versions(p.name)}
        versions = [
            {"version": v, "status": briefs[v].status, "traffic": counts.get((p.name, v))} for v in reversed(p.versions)
        ]
        rows.append({"prompt": p, "versions": versions})
    return {"rows": rows, "days": days}


def _default_version(rt: Runtime, name: str, versions: list[str]) -> str:
    labels = {info.label: info.version for info in rt.registry.labels(name)}
    return labels.get("production") or versions[-1]


def prompt_view(rt: Runtime, name: str, version: str | None, *, days: int = 7) -> dict[str, Any]:
    """One prompt: versions with traffic and scores, labels with history, one version rendered."""
    briefs = rt.registry.versions(name)
    names = [b.version for b in briefs]
    selected: PromptVersion = rt.registry.get(name, version or _default_version(rt, name, names))
    labels = rt.registry.labels(name)
    history = list(reversed(rt.registry.history(name)))
    label_history: dict[str, list[LabelEvent]] = {}
    for event in history:
        if isinstance(event, LabelEvent):
            label_history.setdefault(event.label, []).append(event)
    release_labels = sorted({info.label for info in labels} | set(rt.settings.protected_labels))
    spec = selected.spec
    return {
        "name": name,
        "briefs": list(reversed(briefs)),
        "labels": labels,
        "label_history": label_history,
        "history": history,
        "v": selected,
        "blocks": [{"role": b.role, "segments": segments(b.template)} for b in spec.blocks],
        "breaks": {bp.after_blocks: bp.ttl for bp in spec.breakpoints},
        "traffic": traffic(rt.db, days=days, name=name),
        "scores": eval_scores(rt.db, name),
        "suggest": suggest_version(names),
        "release_labels": release_labels,
        "export_path": export_path(name, selected.version),
        "latest": names[-1],
        "days": days,
    }


def diff_view(rt: Runtime, name: str, a: str, b: str) -> dict[str, Any]:
    """Two versions side by side: the file text, model config, variables and their eval scores."""
    old, new = rt.registry.get(name, a), rt.registry.get(name, b)
    if version_key(old.version) > version_key(new.version):
        old, new = new, old
    from promptyard.evals.compare import diff_eval_delta

    rows, note = diff_eval_delta(rt.db, name, old.version, new.version)
    diff = diff_prompts(old.source, old.spec, new.source, new.spec, eval_delta=rows)
    scores = eval_scores(rt.db, name)
    return {
        "name": name,
        "old": old,
        "new": new,
        "rows": side_by_side(old.source, new.source),
        "diff": diff,
        "eval_note": note,
        "old_score": scores.get(old.version),
        "new_score": scores.get(new.version),
        "versions": [x.version for x in reversed(rt.registry.versions(name))],
    }


def rendered_messages(rt: Runtime, trace: Trace) -> tuple[list[Any], str | None]:
    """The messages a prompt trace sent, re-rendered from its version and inputs, or why not."""
    if not trace.prompt_name or not trace.prompt_version or trace.inputs is None:
        return [], None
    try:
        spec = rt.registry.get(trace.prompt_name, trace.prompt_version).spec
        return list(render_prompt(spec, trace.inputs).messages), None
    except PromptyardError as exc:
        return [], f"cannot re-render {trace.prompt_name}@{trace.prompt_version}: {exc}"


def retrieved_documents(rt: Runtime, trace: Trace) -> tuple[list[Hit], str | None]:
    """The chunks a RAG trace put in the context, read back from its corpus (in context order), or why not.

    Uses the running RAG service's store when there is one, else opens the configured store
    for this read only (no embedder or reranker is loaded).
    """
    if not trace.corpus or not trace.context_chunk_ids:
        return [], None
    try:
        if "rag" in rt.__dict__:
            found = rt.rag.store.fetch(trace.corpus, trace.context_chunk_ids)
        else:
            from promptyard.rag.stores.base import create_store

            store = create_store(rt.settings.vector_store, rt.settings)
            try:
                found = store.fetch(trace.corpus, trace.context_chunk_ids)
            finally:
                store.close()
    except PromptyardError as exc:
        return [], f"cannot read corpus {trace.corpus!r}: {exc}"
    missing = [c for c in trace.context_chunk_ids if c not in found]
    note = f"{len(missing)} chunk(s) are no longer in corpus {trace.corpus!r}" if missing else None
    return [found[c] for c in trace.context_chunk_ids if c in found], note
