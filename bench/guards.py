"""Guards, measured on the shared data: injection, PII spans, latency per check.

    .venv/bin/python bench/guards.py [--data ../shared/data] [--repeat 50] [--only pii] [--pii-file F.json]

- injection: deepset_train's fixed stratified 20% (never seen by the head: tools/train_injection_head.py)
  and 5-fold cross-validation over the whole file (a head re-fitted per fold with the project's own rows);
  TPR at the shipped threshold and at FPR <= 0.05 on the ROC; NotInject's false-positive rate.
- PII: span precision/recall per entity type on presidio-research's generated_small (a predicted
  span is right when it overlaps a gold span of the same type).
- latency: p50/p95 per check for 200- and 2,000-token inputs (built from deepset and SQuAD text).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("train_head", ROOT / "tools" / "train_injection_head.py")
assert spec is not None
assert spec.loader is not None
train_head = importlib.util.module_from_spec(spec)
sys.modules["train_head"] = train_head
spec.loader.exec_module(train_head)

from promptyard.guards.base import OutputContext  # noqa: E402
from promptyard.guards.canary import CanaryGuard  # noqa: E402
from promptyard.guards.classifier import Head, shared_classifier  # noqa: E402
from promptyard.guards.injection import InjectionGuard  # noqa: E402
from promptyard.guards.pii import PIIGuard  # noqa: E402
from promptyard.guards.topics import TopicsGuard  # noqa: E402

GOLD_TO_OURS = {
    "PERSON": "PERSON", "LOCATION": "LOCATION", "ADDRESS": "ADDRESS", "ORGANIZATION": "ORGANIZATION",
    "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD", "EMAIL_ADDRESS": "EMAIL", "US_SSN": "SSN",
    "IP_ADDRESS": "IP", "IBAN_CODE": "IBAN", "DATE_TIME": "DATE", "DOMAIN_NAME": "URL", "TITLE": "TITLE",
    "US_DRIVER_LICENSE": "DRIVER_LICENSE",
    # presidio-evaluator >= 0.3 names (its PresidioSentenceFaker): street and zip are ADDRESS parts,
    # GPE a LOCATION, NRP (nationality, religion, politics) a LOCATION as generated_small labels "sudanese"
    "STREET_ADDRESS": "ADDRESS", "ZIP_CODE": "ADDRESS", "GPE": "LOCATION", "NRP": "LOCATION",
}  # fmt: skip


def tpr_at_fpr(scores: np.ndarray, labels: np.ndarray, fpr: float) -> tuple[float, float]:
    th = train_head.threshold_at(scores, labels, fpr)
    return float((scores[labels == 1] >= th).mean()), float((scores[labels == 0] >= th).mean())


def injection(data: Path) -> dict[str, Any]:
    texts, labels = train_head.load(data / "injection")
    y = np.asarray(labels, dtype=np.float64)
    _, dev = train_head.split(labels)
    guard = InjectionGuard()
    clf = shared_classifier()
    heur = np.array([1.0 if guard.heuristics(t) else 0.0 for t in texts])
    clf_scores = np.array([clf.score(t)[0] for t in texts])
    combined = np.maximum(heur, clf_scores)
    head = Head.load()
    d = np.array(dev)
    out: dict[str, Any] = {"dev_rows": len(d), "dev_attacks": int(y[d].sum()), "threshold": head.threshold}
    for name, s in (("heuristics", heur), ("classifier", clf_scores), ("combined", combined)):
        at = s[d] >= (0.5 if name == "heuristics" else head.threshold)
        roc_tpr, roc_fpr = tpr_at_fpr(s[d], y[d], 0.05)
        out[name] = {
            "dev_tpr": float(at[y[d] == 1].mean()), "dev_fpr": float(at[y[d] == 0].mean()),
            "dev_roc_tpr_at_fpr05": roc_tpr, "dev_roc_fpr": roc_fpr,
        }  # fmt: skip
    # 5-fold CV over all 546 rows: head re-fitted per fold (with the project's own rows, as shipped),
    # threshold from the inner out-of-fold scores
    x = train_head.embed(texts)
    parts = train_head.piece_embeddings(texts)
    own, own_labels = train_head.extra_rows()
    x_hn = train_head.embed(own)
    parts_hn = train_head.piece_embeddings(own)
    y_hn = np.asarray(own_labels, dtype=np.float64)
    rng = np.random.default_rng(7)
    order = rng.permutation(len(y))
    cv_scores = np.zeros(len(y))
    cv_hits = np.zeros(len(y), dtype=bool)
    for k in range(5):
        test = order[k::5]
        trn = np.setdiff1d(order, test)
        xt, yt = np.vstack([x[trn], x_hn]), np.concatenate([y[trn], y_hn])
        pt = [parts[i] for i in trn] + parts_hn
        inner = train_head.oof_piece_scores(xt, yt, pt)
        th = train_head.threshold_at(inner, yt, train_head.TARGET_FPR)
        w, b = train_head.fit_pieces(xt, yt, pt)
        piece = np.array([train_head.predict(parts[i], w, b).max() for i in test])
        cv_scores[test] = np.maximum(piece, heur[test])
        cv_hits[test] = cv_scores[test] >= th
    roc_tpr, roc_fpr = tpr_at_fpr(cv_scores, y, 0.05)
    out["cv5"] = {
        "tpr": float(cv_hits[y == 1].mean()), "fpr": float(cv_hits[y == 0].mean()),
        "roc_tpr_at_fpr05": roc_tpr, "roc_fpr": roc_fpr,
    }  # fmt: skip
    notinject = json.loads((data / "injection" / "notinject_one.json").read_text())
    flagged = [guard.check(r["prompt"]).triggered for r in notinject]
    by_heur = [guard.heuristics(r["prompt"]) is not None for r in notinject]
    out["notinject"] = {"rows": len(notinject), "fpr": sum(flagged) / len(flagged),
                        "fpr_heuristics": sum(by_heur) / len(by_heur)}  # fmt: skip
    return out


def pii(data: Path, file: Path | None = None) -> dict[str, Any]:
    """Span figures on generated_small, or on any presidio-research style JSON list (``--pii-file``)."""
    rows = json.loads((file or data / "pii" / "generated_small.json").read_text())
    guard = PIIGuard()
    tp_pred: dict[str, int] = defaultdict(int)
    n_pred: dict[str, int] = defaultdict(int)
    tp_gold: dict[str, int] = defaultdict(int)
    n_gold: dict[str, int] = defaultdict(int)
    any_found = any_gold = 0
    ner_ran = False
    for row in rows:
        text = row["full_text"]
        pred, ran = guard.spans(text)
        ner_ran = ner_ran or ran
        gold = [(g["start_position"], g["end_position"], g["entity_type"]) for g in row["spans"]]
        for s, e, label in pred:
            n_pred[label] += 1
            if any(s < ge and gs < e and GOLD_TO_OURS.get(gl) == label for gs, ge, gl in gold):
                tp_pred[label] += 1
        for gs, ge, gl in gold:
            ours = GOLD_TO_OURS.get(gl, gl)
            n_gold[ours] += 1
            hit = any(s < ge and gs < e for s, e, _ in pred)
            any_gold += 1
            any_found += hit
            if any(s < ge and gs < e and label == ours for s, e, label in pred):
                tp_gold[ours] += 1
    per_type = {
        label: {
            "gold": n_gold.get(label, 0), "predicted": n_pred.get(label, 0),
            "precision": tp_pred[label] / n_pred[label] if n_pred.get(label) else None,
            "recall": tp_gold[label] / n_gold[label] if n_gold.get(label) else None,
        }
        for label in sorted(set(n_gold) | set(n_pred))
    }  # fmt: skip
    pattern_types = {"PHONE", "CREDIT_CARD", "EMAIL", "SSN", "IP", "IBAN", "SECRET", "URL", "DATE", "DRIVER_LICENSE"}
    pg = sum(n_gold[t] for t in pattern_types)
    pp = sum(n_pred[t] for t in pattern_types)
    all_pred = sum(n_pred.values())
    return {
        "ner_model": ner_ran, "per_type": per_type,
        "pattern_types": {"precision": sum(tp_pred[t] for t in pattern_types) / pp if pp else None,
                          "recall": sum(tp_gold[t] for t in pattern_types) / pg if pg else None},
        "all_types": {"precision": sum(tp_pred.values()) / all_pred if all_pred else None,
                      "recall": sum(tp_gold.values()) / sum(n_gold.values())},
        "any_type_recall": any_found / any_gold,
    }  # fmt: skip


def latency(data: Path, repeat: int, only: str | None = None) -> dict[str, Any]:
    clf = shared_classifier()
    tok = clf.embedder.tokenizer
    texts, _ = train_head.load(data / "injection")
    squad = [json.loads(line)["text"] for line in (data / "squad" / "rag_corpus.jsonl").read_text().splitlines()[:200]]
    pool = " ".join(squad + texts)
    spans = tok.spans(pool)
    inputs = {n: pool[: spans[n - 1][1]] for n in (200, 2000)}
    system = "You answer questions using only the documents you are given. Keep the answer short. " * 4
    guards: dict[str, Any] = {
        "injection": InjectionGuard().check,
        "injection (heuristics only)": InjectionGuard(use_classifier=False).check,
        "pii (patterns + names)": PIIGuard().check,
        "canary": lambda t: CanaryGuard().check_output(t, OutputContext(system_prompt=system, canary="pyc-0f")),
        "topics": TopicsGuard().check,
    }
    if only:
        guards = {name: check for name, check in guards.items() if name.startswith(only)}
    out: dict[str, Any] = {}
    for n, text in inputs.items():
        for name, check in guards.items():
            check(text)  # warm
            ms = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                check(text + " ")  # defeat nothing: guards keep no per-text cache here
                ms.append((time.perf_counter() - t0) * 1000)
            ms.sort()
            out[f"{name} @ {n} tokens"] = {"p50_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * (len(ms) - 1))]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--only", choices=["pii"], help="only the PII spans and the pii check's latency")
    parser.add_argument("--pii-file", type=Path, help="PII spans on this presidio-style JSON instead (no latency)")
    args = parser.parse_args()
    if args.pii_file:
        report = {"pii": pii(args.data, args.pii_file)}
    elif args.only == "pii":
        report = {"pii": pii(args.data), "latency": latency(args.data, args.repeat, "pii")}
    else:
        report = {"injection": injection(args.data), "pii": pii(args.data), "latency": latency(args.data, args.repeat)}
    print(json.dumps(report, indent=2, default=lambda v: round(v, 4) if isinstance(v, float) else str(v)))


if __name__ == "__main__":
    main()
