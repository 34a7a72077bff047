"""Train the injection classifier's head: logistic regression on all-MiniLM-L6-v2 embeddings.

    .venv/bin/python tools/train_injection_head.py [--data ../shared/data/injection]

Data: ``deepset_train.jsonl`` (the training split), cut once into a fixed stratified 80/20
split (seed 0), plus rows written for this project, because deepset's benign rows have almost
no trigger words and a head trained on them alone learns the words, not the attack (52% false
positives on NotInject):

- ``tools/injection_hard_negatives.jsonl``: 89 hand-written benign prompts with trigger words
  ("ignore a file in git", "bypass capacitor", "act as a travel guide");
- ``tools/injection_benign_triggers.jsonl`` (written by ``injection_benign_triggers.py``): benign
  requests in English and German where the trigger word is what is asked about (coding,
  everyday, security questions, translations), its ``kind: topic`` rows; its ``directive`` rows
  (harmless "forget that, ...", "act as ...", which deepset labels as attacks) are left out;
- ``tools/injection_attack_styles.jsonl`` (``injection_attack_styles.py``): attacks in common
  styles (override, new task, persona without rules, prompt leak, fake system message).

The head is fitted on pieces, as the guard scores them (sentences, windows of long ones): every
piece of a benign text is a negative (weighted so each text counts once), and of an attack only
its highest-scoring piece is a positive (multiple-instance learning: started from a fit on
whole texts, then 3 rounds of re-picking the piece and re-fitting). The threshold is chosen on
out-of-fold scores (5 folds), each text scored by its highest piece, for FPR <= 0.03 over all
negatives; the 20% is never seen here and is what ``bench/guards.py`` reports on. NotInject is
never used for training or thresholds. Writes ``src/promptyard/guards/injection_head.json``.
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


def fit(x: F, y: F, l2: float | None = None, iters: int = 50, weights: F | None = None) -> tuple[F, float]:
    """L2-regularised logistic regression by Newton's method (bias unpenalised), rows optionally weighted."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    sw = np.ones(len(y)) if weights is None else weights
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], L2 if l2 is None else l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (sw * (p - y)) + reg * w
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def predict(x: F, w: F, b: float) -> F:
    out: F = 1 / (1 + np.exp(-(x @ w + b)))
    return out


MI_ROUNDS = 3


def fit_pieces(x: F, y: F, parts: list[F], rounds: int = MI_ROUNDS) -> tuple[F, float]:
    """Fit on pieces: all of a benign text's (weight 1/n each), an attack's highest-scoring one.

    ``x`` holds whole-text embeddings (the starting fit), ``parts[i]`` the pieces of text ``i``.
    """
    w, b = fit(x, y)
    for _ in range(rounds):
        rows: list[F] = []
        labels: list[float] = []
        weights: list[float] = []
        for i, piece in enumerate(parts):
            if y[i] == 1:
                rows.append(piece[int(np.argmax(piece @ w + b))][None, :])
                labels.append(1.0)
                weights.append(1.0)
            else:
                rows.append(piece)
                labels += [0.0] * len(piece)
                weights += [1.0 / len(piece)] * len(piece)
        w, b = fit(np.vstack(rows), np.asarray(labels), weights=np.asarray(weights))
    return w, b


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
BENIGN_TRIGGERS = ROOT / "tools" / "injection_benign_triggers.jsonl"
ATTACK_STYLES = ROOT / "tools" / "injection_attack_styles.jsonl"


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hard_negatives() -> list[str]:
    return [str(r["text"]) for r in _rows(HARD_NEGATIVES)]


def extra_rows() -> tuple[list[str], list[int]]:
    """The project's own training rows: hard negatives, topic benign triggers, attack styles."""
    rows = _rows(HARD_NEGATIVES) + [r for r in _rows(BENIGN_TRIGGERS) if r["kind"] == "topic"] + _rows(ATTACK_STYLES)
    return [str(r["text"]) for r in rows], [int(str(r["label"])) for r in rows]


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
    """Out-of-fold scores as the guard computes them: the head fitted by :func:`fit_pieces`, the highest piece."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    scores = np.zeros(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        w, b = fit_pieces(x[train], y[train], [parts[i] for i in train])
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
    extra, extra_labels = extra_rows()
    rows = [texts[i] for i in train] + extra
    x = embed(rows)
    parts = piece_embeddings(rows)
    y = np.asarray([labels[i] for i in train] + extra_labels, dtype=np.float64)
    scores = oof_piece_scores(x, y, parts)
    threshold = threshold_at(scores, y, TARGET_FPR)
    w, b = fit_pieces(x, y, parts)
    OUT.write_text(json.dumps({
        "model": "sentence-transformers/all-MiniLM-L6-v2 (onnx-int8, sentences and 200-token windows)",
        "trained_on": f"deepset_train.jsonl stratified 80% (seed 0): {len(train)} rows, "
        f"{sum(labels[i] for i in train)} attacks; {len(extra)} rows written for the project "
        f"({sum(extra_labels)} attacks): hard negatives, benign trigger-word topics, attack styles",
        "fit": f"pieces: every benign piece, each attack's highest piece ({MI_ROUNDS} rounds)",
        "l2": L2, "threshold": round(threshold, 6),
        "threshold_rule": f"out-of-fold FPR <= {TARGET_FPR} over all negatives, highest piece",
        "bias": b, "weights": [round(float(v), 6) for v in w],
    }, indent=0))  # fmt: skip
    hits = scores >= threshold
    n = len(train)  # out-of-fold, on the deepset 80% alone and on the project's rows
    print(
        f"wrote {OUT.relative_to(ROOT)}: {n} + {len(extra)} rows, threshold {threshold:.4f}; out-of-fold "
        f"deepset TPR {hits[:n][y[:n] == 1].mean():.3f} FPR {hits[:n][y[:n] == 0].mean():.3f}, "
        f"own attacks {hits[n:][y[n:] == 1].mean():.3f}, own benign flagged {hits[n:][y[n:] == 0].mean():.3f}"
    )


if __name__ == "__main__":
    main()
