"""Train the injection classifier's head: logistic regression on all-MiniLM-L6-v2 embeddings.

    .venv/bin/python tools/train_injection_head.py [--data ../shared/data/injection]

Data: ``deepset_train.jsonl`` (the training split), cut once into a fixed stratified 80/20
split (seed 0), plus ``tools/injection_hard_negatives.jsonl``: 89 benign prompts written for
this project that use trigger words ("ignore a file in git", "bypass capacitor", "act as a
travel guide"), because deepset's benign rows have none and a head trained on them alone
learns the words, not the attack (52% false positives on NotInject). The head is fitted on
the 80% plus those (whole texts), and its threshold chosen on their out-of-fold scores (5
folds), each text scored as the guard scores it (its highest sentence or window), for
FPR <= 0.03; the 20% is never seen here and is what ``bench/guards.py`` reports on.
NotInject is never used for training or thresholds. Writes ``src/promptyard/guards/injection_head.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "promptyard" / "guards" / "injection_head.json"
L2 = 0.1
TARGET_FPR = 0.03

F = npt.NDArray[np.float64]


def split(labels: list[int], seed: int = 0, dev: float = 0.2) -> tuple[list[int], list[int]]:
    """Stratified, deterministic: (train indices, dev indices)."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    held: list[int] = []
    for label in (0, 1):
        idx = [i for i, y in enumerate(labels) if y == label]
        rng.shuffle(idx)
        cut = round(len(idx) * dev)
        held += idx[:cut]
        train += idx[cut:]
    return sorted(train), sorted(held)


def fit(x: F, y: F, l2: float | None = None, iters: int = 50) -> tuple[F, float]:
    """L2-regularised logistic regression by Newton's method (bias unpenalised)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], L2 if l2 is None else l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def predict(x: F, w: F, b: float) -> F:
    out: F = 1 / (1 + np.exp(-(x @ w + b)))
    return out


def oof_scores(x: F, y: F, folds: int = 5, seed: int = 1) -> F:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    scores = np.zeros(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        w, b = fit(x[train], y[train])
        scores[test] = predict(x[test], w, b)
    return scores


def threshold_at(scores: F, y: F, fpr: float) -> float:
    """Lowest threshold whose false-positive rate on the negatives is at most ``fpr``."""
    neg = np.sort(scores[y == 0])[::-1]
    allowed = int(np.floor(fpr * len(neg)))
    return float(neg[allowed] + 1e-6) if allowed < len(neg) else 0.0


HARD_NEGATIVES = ROOT / "tools" / "injection_hard_negatives.jsonl"


def hard_negatives() -> list[str]:
    return [json.loads(line)["text"] for line in HARD_NEGATIVES.read_text().splitlines() if line.strip()]


def load(data: Path) -> tuple[list[str], list[int]]:
    rows = [json.loads(line) for line in (data / "deepset_train.jsonl").read_text().splitlines() if line.strip()]
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def _embedder():  # type: ignore[no-untyped-def]
    from promptyard.rag.embedders.local import create
    from promptyard.settings import Settings

    return create(Settings())


def piece_embeddings(texts: list[str]) -> list[F]:
    """Per text, the embeddings of the pieces the guard scores (sentences, windows of long ones)."""
    from promptyard.guards.classifier import pieces

    embedder = _embedder()
    out = []
    for text in texts:
        spans = pieces(embedder, text)
        out.append(np.asarray(embedder.embed([text[s:e] for s, e in spans], kind="document"), dtype=np.float64))
    return out


def oof_piece_scores(x: F, y: F, parts: list[F], folds: int = 5, seed: int = 1) -> F:
    """Out-of-fold scores as the guard computes them: the head fitted on whole texts, the highest piece."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    scores = np.zeros(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        w, b = fit(x[train], y[train])
        for i in test:
            scores[i] = predict(parts[i], w, b).max()
    return scores


def embed(texts: list[str]) -> F:
    from promptyard.guards.classifier import windows
    from promptyard.rag.embedders.local import create
    from promptyard.settings import Settings

    embedder = create(Settings())
    out = []
    for text in texts:  # as the guard scores them: the highest window wins, so train on every window's mean
        spans = windows(embedder, text)
        vectors = embedder.embed([text[s:e] for s, e in spans], kind="document")
        out.append(vectors.mean(axis=0))
    return np.asarray(out, dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "injection")
    args = parser.parse_args()
    texts, labels = load(args.data)
    train, _dev = split(labels)
    extra = hard_negatives()
    rows = [texts[i] for i in train] + extra
    x = embed(rows)
    y = np.asarray([labels[i] for i in train] + [0] * len(extra), dtype=np.float64)
    scores = oof_piece_scores(x, y, piece_embeddings(rows))
    threshold = threshold_at(scores, y, TARGET_FPR)
    w, b = fit(x, y)
    OUT.write_text(json.dumps({
        "model": "sentence-transformers/all-MiniLM-L6-v2 (onnx-int8, mean of 200-token windows)",
        "trained_on": f"deepset_train.jsonl stratified 80% (seed 0): {len(train)} rows, {int(y.sum())} attacks; "
        f"{len(extra)} hand-written hard negatives",
        "l2": L2, "threshold": round(threshold, 6),
        "threshold_rule": f"out-of-fold FPR <= {TARGET_FPR} on the 80% + hard negatives, highest piece",
        "bias": b, "weights": [round(float(v), 6) for v in w],
    }, indent=0))  # fmt: skip
    tpr = float((scores[y == 1] >= threshold).mean())
    print(f"wrote {OUT.relative_to(ROOT)}: {len(train)} rows, threshold {threshold:.4f}, out-of-fold TPR {tpr:.3f}")


if __name__ == "__main__":
    main()
