"""Fresh presidio-research style PII sentences, to check the PII guard on data it was not shaped on.

    pip install --no-deps --target /tmp/pe presidio-evaluator==0.3.2 faker==40.63.0
    PYTHONPATH=/tmp/pe .venv/bin/python bench/pii_generate.py --seed 2026 -n 400 --out /tmp/heldout_2026.json
    .venv/bin/python bench/guards.py --pii-file /tmp/heldout_2026.json

presidio-evaluator's ``PresidioSentenceFaker`` (its templates, Faker and its bundled fake-person
records) writes the sentences; its package imports spaCy and presidio at import time for parts
the generator does not use, so those modules are stubbed here instead of installed. Entity
names are the generator's (``STREET_ADDRESS``, ``GPE``, ``NRP``, ``AGE``...): ``bench/guards.py``
maps them. Nothing here is used to build or tune the guard.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from collections import Counter
from pathlib import Path


def _stub(name: str, **attrs: object) -> None:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    sys.modules.setdefault(name, module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("-n", type=int, default=400)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    placeholder = type("Stub", (), {})
    for name in ("spacy", "spacy.tokens", "spacy.language", "spacy.training"):
        _stub(name, Doc=placeholder, DocBin=placeholder, Language=placeholder, iob_to_biluo=None)
    _stub("presidio_analyzer", RecognizerResult=placeholder)
    _stub("presidio_anonymizer", AnonymizerEngine=placeholder)
    _stub("dotenv", load_dotenv=lambda *a, **k: False)
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=args.seed)
    rows = []
    for sample in faker.generate_new_fake_sentences(args.n):
        spans = [
            {"entity_type": x.entity_type, "entity_value": x.entity_value,
             "start_position": x.start_position, "end_position": x.end_position}
            for x in sample.spans
        ]  # fmt: skip
        rows.append({"full_text": sample.full_text, "spans": spans})
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=0))
    print(args.out, len(rows), dict(Counter(x["entity_type"] for r in rows for x in r["spans"])))


if __name__ == "__main__":
    main()
