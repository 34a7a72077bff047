"""The PII guard without a model: gazetteer names, places, organisations, address parts, new patterns."""

from __future__ import annotations

import pytest

from promptyard.guards.base import Verdict
from promptyard.guards.pii import PIIGuard
from promptyard.guards.runner import Redactor

guard = PIIGuard(ner=lambda: None)


def found(text: str) -> list[tuple[str, str]]:
    spans, ran = guard.spans(text)
    assert not ran
    return [(label, text[s:e]) for s, e, label in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my friend tracy called", [("PERSON", "tracy")]),  # a known name in any case
        ("This song by Jonak is great.", [("PERSON", "Jonak")]),  # capitalised, no English word
        ("Follow up with Colleen Wiley in 2 months.", [("PERSON", "Colleen Wiley")]),
        ("Will you help? I will do it, said Rose.", [("PERSON", "Rose")]),  # "Will" opens a sentence
        ("She grew up in Monroe. We moved here from Poland.", [("LOCATION", "Monroe"), ("LOCATION", "Poland")]),
        (
            "I work at Areavibes Inc and the firm Hubbard, Fox and Gillespie sued us.",
            [("ORGANIZATION", "Areavibes Inc"), ("ORGANIZATION", "Hubbard, Fox and Gillespie")],
        ),
        ("Mrs. Amy Kupcová wrote 200 ms. Later", [("TITLE", "Mrs."), ("PERSON", "Amy Kupcová")]),
    ],
)
def test_names_places_and_organisations(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_plain_words_and_shouting_are_not_names() -> None:
    assert found("Capitalized words like Wisdom and Discipline are often mistaken with names.") == []
    assert found("CAN I SPEAK TO A REAL PERSON?!") == []
    assert found("I'm sure you're right, we'll meet on Sunday in March.") == []


def test_address_block_parts() -> None:
    text = "Ann Smith\n12 Elm Street\nSpringfield\nIL 62704"
    assert found(text) == [
        ("PERSON", "Ann Smith"),
        ("ADDRESS", "12 Elm Street"),
        ("LOCATION", "Springfield"),
        ("ADDRESS", "IL 62704"),
    ]
    assert found("Shelby lives at 87 Jakobi 69, Laane") == [
        ("PERSON", "Shelby"),
        ("ADDRESS", "87 Jakobi 69"),
        ("LOCATION", "Laane"),
    ]
    assert ("ADDRESS", "11164") in found("ZIP: 11164")


def test_urls_dates_and_licences() -> None:
    text = (
        "See https://www.example.org/page, born 12/27/1986, met on 3 March 2021 at 2021-03-03 10:00. "
        "My driver's license number is D1234567."
    )
    assert found(text) == [
        ("URL", "https://www.example.org/page"),
        ("DATE", "12/27/1986"),
        ("DATE", "3 March 2021"),
        ("DATE", "2021-03-03 10:00"),
        ("DRIVER_LICENSE", "D1234567"),
    ]


def test_redaction_placeholders_for_the_new_types() -> None:
    text = "Dr. Nielsen from Poland works for Areavibes Inc; Nielsen writes the Annual report, see www.nielsen.dk/cv"
    verdict: Verdict = guard.check(text)
    red = Redactor()
    red.add(text, verdict)
    redacted = red.apply(text)
    assert redacted == (
        "<TITLE_1> <PERSON_1> from <LOCATION_1> works for <ORGANIZATION_1>; <PERSON_1> writes the Annual report, "
        "see <URL_1>"
    )
    assert red.restore(redacted) == text


def test_redaction_does_not_cut_into_words() -> None:
    text = "Ann wrote the Annual plan. Ann agrees."
    red = Redactor()
    red.add(text, guard.check(text))
    assert red.apply(text) == "<PERSON_1> wrote the Annual plan. <PERSON_1> agrees."


def test_entities_option_and_patterns_only() -> None:
    text = "Call Jonak at +44 20 7946 0958."
    assert [s.label for s in PIIGuard(entities=("PHONE",), ner=lambda: None).check(text).spans] == ["PHONE"]
    assert [s.label for s in PIIGuard(use_ner=False).check(text).spans] == ["PHONE"]


def test_nationalities_companies_and_short_cards() -> None:
    assert found("The Swedish government formally began the process.") == [("LOCATION", "Swedish")]
    assert found("He works for Gold Bullion Securities Limited now.") == [
        ("ORGANIZATION", "Gold Bullion Securities Limited")
    ]
    assert found("my maestro card 501800000009 is lost") == [("CREDIT_CARD", "501800000009")]
    assert found("Tuomo lives on Metsanurga 48 street.") == [("PERSON", "Tuomo"), ("ADDRESS", "Metsanurga 48")]
