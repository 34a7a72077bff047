"""Answer metrics against the official SQuAD v1.1 evaluation script (reproduced as the oracle)."""

from __future__ import annotations

import re
import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptyard.evals.metrics import (
    abstention_correct,
    check_citations,
    citation_validity,
    contains_all,
    detect_abstention,
    exact_match,
    json_schema_valid,
    matches_regex,
    normalize_answer,
    parse_citations,
    token_f1,
)
from promptyard.evals.model import Citation


# ---- the official SQuAD v1.1 evaluate-v1.1.py functions, verbatim in substance --------
def official_normalize_answer(s: str) -> str:
    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_f1_score(prediction: str, ground_truth: str) -> float:
    prediction_tokens = official_normalize_answer(prediction).split()
    ground_truth_tokens = official_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_exact_match_score(prediction: str, ground_truth: str) -> bool:
    return official_normalize_answer(prediction) == official_normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):  # type: ignore[no-untyped-def]
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def official_evaluate(dataset: list[tuple[list[str], str]]) -> dict[str, float]:
    f1 = exact_match = 0.0
    for ground_truths, prediction in dataset:
        exact_match += metric_max_over_ground_truths(official_exact_match_score, prediction, ground_truths)
        f1 += metric_max_over_ground_truths(official_f1_score, prediction, ground_truths)
    return {"exact_match": 100.0 * exact_match / len(dataset), "f1": 100.0 * f1 / len(dataset)}


# A small fixed run: real SQuAD dev questions' answers with typical model outputs.
FIXED_RUN: list[tuple[list[str], str]] = [
    (["Denver Broncos", "Denver Broncos", "Denver Broncos"], "The Denver Broncos."),
    (["Carolina Panthers"], "the carolina panthers won the NFC"),
    (["Santa Clara, California", "Levi's Stadium", "Levi's Stadium in the San Francisco Bay Area"], "Levis Stadium"),
    (["Levi's Stadium"], "At Levi's Stadium in Santa Clara"),
    (["gold"], "golden"),
    (["February 7, 2016", "Feb 7, 2016"], "February 7th, 2016"),
    (["an American football game"], "A game of American football"),
    (["24–10"], "24-10"),
    (["Broncos"], ""),
    (["Sáenz, Ángel"], "ángel sáenz"),
    (["the the a"], "an"),
    (["Peyton Manning"], "I don't have information about that"),
]


def test_fixed_run_matches_official_squad_script() -> None:
    reference = official_evaluate(FIXED_RUN)
    em = 100.0 * sum(exact_match(p, g) or 0.0 for g, p in FIXED_RUN) / len(FIXED_RUN)
    f1 = 100.0 * sum(token_f1(p, g) or 0.0 for g, p in FIXED_RUN) / len(FIXED_RUN)
    assert em == pytest.approx(reference["exact_match"], abs=1e-12)
    assert f1 == pytest.approx(reference["f1"], abs=1e-12)
    # And the values themselves are what a person computes by hand for a few rows.
    assert exact_match("The Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert token_f1("the carolina panthers won the NFC", ["Carolina Panthers"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_f1("golden", ["gold"]) == 0.0
    assert exact_match("an", ["the the a"]) == 1.0  # both normalize to the empty string


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), st.text(max_size=40))
def test_normalization_and_f1_agree_with_official(prediction: str, truth: str) -> None:
    assert normalize_answer(prediction) == official_normalize_answer(prediction)
    assert token_f1(prediction, [truth]) == pytest.approx(official_f1_score(prediction, truth))
    assert exact_match(prediction, [truth]) == float(official_exact_match_score(prediction, truth))


def test_metrics_without_references_do_not_apply() -> None:
    assert exact_match("x", []) is None
    assert token_f1("x", []) is None
    assert contains_all("x", []) is None
    assert matches_regex("x", None) is None
    assert json_schema_valid("x", None) is None


def test_contains_regex_and_json_schema() -> None:
    assert contains_all("Refund issued to the CARD", ["refund", "card"]) == 1.0
    assert contains_all("Refund issued", ["refund", "card"]) == 0.0
    assert matches_regex("order #12345 shipped", r"#\d{5}\b") == 1.0
    assert matches_regex("order shipped", r"#\d{5}\b") == 0.0
    schema = {"type": "object", "required": ["category"], "properties": {"category": {"enum": ["billing", "other"]}}}
    assert json_schema_valid('{"category": "billing"}', schema) == 1.0
    assert json_schema_valid('```json\n{"category": "other"}\n```', schema) == 1.0
    assert json_schema_valid('{"category": "sales"}', schema) == 0.0
    assert json_schema_valid("not json at all", schema) == 0.0
    assert json_schema_valid("ignored", schema, parsed={"category": "other"}) == 1.0


def test_citations_parsed_and_checked_against_context() -> None:
    text = "Denver won [Super_Bowl_50__0]. Also [doc_99] and again [Super_Bowl_50__0]. Not a cite: [ ]."
    assert parse_citations(text) == ["Super_Bowl_50__0", "doc_99"]
    checked = check_citations(text, None, ["Super_Bowl_50__0", "other"])
    assert [(c.doc_id, c.valid) for c in checked] == [("Super_Bowl_50__0", True), ("doc_99", False)]
    assert citation_validity(checked) == 0.5
    # A target's own verdict wins over the context check.
    given_cites = [Citation(doc_id="a", valid=False), Citation(doc_id="b")]
    assert [c.valid for c in check_citations("", given_cites, ["a", "b"])] == [False, True]
    assert citation_validity([]) is None
    assert citation_validity(check_citations("[x]", None, None)) is None  # no context: no verdict


def test_abstention_detection_and_correctness() -> None:
    assert detect_abstention("I don't have information about that")
    assert detect_abstention("Sorry, I cannot answer this from the documents.")
    assert detect_abstention("   ")
    assert not detect_abstention("The Denver Broncos won Super Bowl 50 [Super_Bowl_50__0].")
    assert abstention_correct(True, True) == 1.0
    assert abstention_correct(False, False) == 1.0
    assert abstention_correct(True, False) == 0.0  # abstained when it should not
    assert abstention_correct(False, True) == 0.0  # answered when it should have abstained
    assert abstention_correct(True, None) is None
