"""The injection head's training tool and its data generators (tools/, not the package)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tool_{name}", TOOLS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _committed(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_committed_jsonl_files_are_what_the_generators_write() -> None:
    benign, attacks = _tool("injection_benign_triggers"), _tool("injection_attack_styles")
    assert _committed(benign.OUT) == benign.rows()
    assert _committed(attacks.OUT) == attacks.rows()
    rows = benign.rows()
    assert {r["label"] for r in rows} == {0}
    assert len({r["text"] for r in rows}) == len(rows)
    langs = [r["lang"] for r in rows if r["kind"] == "topic"]
    assert langs.count("de") >= 100
    assert langs.count("en") >= 100
    assert {r["label"] for r in attacks.rows()} == {1}


def test_training_uses_topic_rows_and_attack_styles_not_directive_rows() -> None:
    train = _tool("train_injection_head")
    texts, labels = train.extra_rows()
    directive = {r["text"] for r in _committed(train.BENIGN_TRIGGERS) if r["kind"] == "directive"}
    assert directive
    assert not directive & set(texts)
    assert sum(labels) == len(_committed(train.ATTACK_STYLES))
    assert len(texts) == len(set(texts))


def test_fit_pieces_learns_the_attack_piece_not_the_whole_text() -> None:
    # 2-d toy: benign pieces sit near (0, 0); an attack text is benign pieces plus one piece near
    # (0, 3). On whole-text means the attack signal is diluted; fitted on pieces, the attack piece
    # scores high and every benign piece low.
    train = _tool("train_injection_head")
    rng = np.random.default_rng(0)
    parts, y = [], []
    for i in range(80):
        benign = rng.normal(0, 0.3, size=(3, 2))
        if i % 2:
            benign[1] = rng.normal((0, 3), 0.3)
        parts.append(benign)
        y.append(float(i % 2))
    x = np.asarray([p.mean(axis=0) for p in parts])
    labels = np.asarray(y)
    w, b = train.fit_pieces(x, labels, parts)
    attack_pieces = np.asarray([p[1] for p, t in zip(parts, y, strict=True) if t == 1])
    benign_pieces = np.vstack([np.delete(p, 1, axis=0) if t == 1 else p for p, t in zip(parts, y, strict=True)])
    assert train.predict(attack_pieces, w, b).min() > 0.5
    assert train.predict(benign_pieces, w, b).max() < 0.5
