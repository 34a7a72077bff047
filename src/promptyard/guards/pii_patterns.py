"""Structured PII found by pattern and confirmed by validator: no model needed.

Labels: EMAIL, PHONE, ADDRESS (street lines: number + street word, "Nassaustraat 12", "Apt. 5";
after an address cue such as "address:" or "lives at", number + words + number), CREDIT_CARD
(Luhn; 12 digits only after "card"), IBAN (ISO 7064 mod 97), SSN (US, with the SSA's impossible areas excluded), IP (v4
octets checked, v6), SECRET (API keys and tokens by known prefix, plus ``key = value``
assignments of long random-looking values), URL (scheme or ``www.``), DATE (numeric, ISO with
time, "12 March 2017", "March 12, 2017"), DRIVER_LICENSE (after "driver's license").
"""

from __future__ import annotations

# ruff: noqa: E501 - one pattern a line reads better than split strings
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator

Found = tuple[int, int, str]

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SSN = re.compile(r"(?<![\d-])(\d{3})[- ](\d{2})[- ](\d{4})(?![\d-])|(?<=\bssn[:# ])\s*(\d{9})\b", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}(?::|[0-9a-fA-F]{1,4})(?:[0-9a-fA-F:]*)(?![\w:])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w])"
    r"|(?<![\w+])\+\d{8,14}\b"
)
_SECRET_PREFIX = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|py_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20}"
    r"|sk_(?:live|test)_[A-Za-z0-9]{20,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_SECRET_ASSIGN = re.compile(
    r"(?i)\b(?:api[_-]?key|secret|token|password|passwd|pwd|access[_-]?key|auth)\b[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{8,})"
)


_STREET = (
    r"(?:street|st|road|rd|avenue|ave|drive|dr|lane|ln|place|pl|boulevard|blvd|way|court|ct|terrace|square|sq|"
    r"highway|hwy|parkway|pkwy|crescent|close|row|rue|via|calle|avenida|rua|gürtel|gasse|platz|weg|allee|straat|laan|plein)"
)
_ADDRESS = re.compile(
    # "1755 Nelson Mandela Drive", "107 Rue Abdelaziz Thâalbi", "230 Wit Rd"
    rf"(?i)\b(?:\d{{1,5}}[ \t]+)?\d{{1,5}}[a-z]?\s+(?:[^\W\d_][\w'.-]*\s+){{0,3}}?{_STREET}\b\.?(?-i:(?:[ \t]+[A-Z][\w'-]+){{0,3}})"
    rf"(?:\s+\d{{1,5}})?(?:,?\s+(?:apt|apartment|suite|unit|ste)\.?\s*\d{{1,5}})?"
    # "Nassaustraat 123", "Ziegelgasse 26", "Auerstrasse 12 Apt. 974"
    r"|\b[^\W\d_][\w-]*(?:straat|strasse|straße|gasse|weg|laan|plein|platz|gata|gatan|gade|vej|utca|útja|ulica|allee)"
    r"\s+\d{1,5}[a-z]?\b(?:,?\s+(?:apt|suite|unit)\.?\s*\d{1,5})?"
    # "Whittaker Street", "Argyll Road": capitalised words before a spelled-out street word
    r"|(?-i:\b(?:[A-Z][\w'-]+[ \t]){1,3}(?:Street|Road|Avenue|Boulevard|Lane|Drive|Terrace|Crescent|Parkway)\b)"
    # a short address line: "98 árpád fejedelem útja 45.", "11 Školní 939"
    r"|(?m:^[^\w\n]{0,4}[ \t]*\d{1,5}[ \t]+(?:[^\W\d_][\w'.-]*[ \t]+){1,4}\d{1,5}[a-z]?\b\.?(?=[ \t]*$))"
    # anywhere: number, [short lowercase word,] capitalised word, up to 2 words, number: "0556 Rákóczi út 41."
    r"|(?<![\w.,/-])\d{1,5}[ \t]+(?:(?-i:[a-zà-ÿα-ωа-я]){1,3}\.?[ \t]+)?(?-i:[A-ZÀ-ÞĀ-ſΑ-ΩА-Я][\w'.-]*)(?:[ \t]+[^\W\d_][\w'.-]*){0,2}[ \t]+\d{1,4}[a-z]?\b\.?(?![\d.,:/-]\d)"
    # "ZIP: 11164", "postcode 1017"
    r"|(?i:(?<=\bzip: )|(?<=\bzip )|(?<=\bpostcode: )|(?<=\bpostcode ))\d{4,6}(?:-\d{4})?\b"
    # "Apt. 018", "suite 771"
    r"|(?i:\b(?:apt|apartment|suite|unit)\.?\s*#?\d{1,5}\b)"
)
_ADDRESS_CUE = re.compile(
    # after "address:", "lives at", "return to", "located at": "87 Jakobi 69", "46 velký průhon 426"
    r"(?i)(?:\baddress(?:es)?\b[^\n.?!]{0,30}?(?:[:]|\bis|\bto|\bwith|\bare)|\b(?:lives?|lived|living|located|is) (?:at|on|in)"
    r"|\breturn (?:it )?to|\bship (?:it )?to|\bsend (?:it )?to)\s*"
    r"(\d{1,5}[a-z]?(?:[ \t]\d{1,5}[a-z]?)?[ \t]+(?:[^\W\d_][\w'.-]*[ \t]+){0,4}(?:[^\W\d_][\w'.-]*)\.?(?:[ \t]+\d{1,5}[a-z]?\b\.?)?)"
)
_STREET_ON = re.compile(
    # "lives on Metsanurga 48", "the station is on Orrspelsv 49", "the north side of Castelao 66"
    r"\b(?:lives?|living|located|situated|is|are) on (?:the \w+ side of )?"
    r"((?-i:[A-ZÀ-ÞĀ-ſΑ-ΩА-Я])[\w'.-]+(?:[ \t](?:[a-zà-ÿ]{1,3}[ \t])?(?-i:[A-ZÀ-ÞĀ-ſΑ-ΩА-Я])[\w'.-]+){0,3}[ \t]\d{1,4}[a-z]?\b)",
    re.IGNORECASE,
)
_CARD_CUE = re.compile(r"(?i)\b(?:card|cc|maestro)\b[^\d\n]{0,25}$")
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DATE = re.compile(
    r"(?<![\d/.-])(?:\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|\d{1,2}/\d{1,2}/(?:\d{4}|\d{2}))(?![\d/])"
    rf"|(?i:\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+\d{{4}}\b|\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b)"
)
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'|]+[^\s<>\"'|.,;:!?)\]]")
_LICENSE = re.compile(r"(?i)\bdriver'?s?\s+licen[cs]e\b(?:\s+(?:number|no\.?|#))?(?:\s+is|:)?\s*([A-Z0-9-]{5,15})\b")


def luhn(digits: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(digits)):
        d = int(ch)
        if index % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _emails(text: str) -> Iterator[Found]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), "EMAIL"


def _cards(text: str) -> Iterator[Found]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits) and len(set(digits)) > 1:
            yield m.start(), m.end(), "CREDIT_CARD"
    for m in re.finditer(r"(?<![\d-])\d{12}(?![\d-])", text):  # 12-digit Maestro cards, after "card"
        if luhn(m.group(0)) and _CARD_CUE.search(text[max(0, m.start() - 40) : m.start()]):
            yield m.start(), m.end(), "CREDIT_CARD"


def _ibans(text: str) -> Iterator[Found]:
    for m in _IBAN.finditer(text):
        if iban_ok(m.group(0)):
            yield m.start(), m.end(), "IBAN"


def _ssns(text: str) -> Iterator[Found]:
    for m in _SSN.finditer(text):
        if m.group(1):
            area, group, serial = m.group(1), m.group(2), m.group(3)
        else:
            raw = m.group(4)
            area, group, serial = raw[:3], raw[3:5], raw[5:]
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        start = m.start(4) if m.group(4) else m.start()
        yield start, m.end(), "SSN"


def _ips(text: str) -> Iterator[Found]:
    for rx in (_IPV4, _IPV6):
        for m in rx.finditer(text):
            try:
                ipaddress.ip_address(m.group(0))
            except ValueError:
                continue
            yield m.start(), m.end(), "IP"


def _phones(text: str) -> Iterator[Found]:
    for m in _PHONE.finditer(text):
        value = m.group(0)
        digits = re.sub(r"\D", "", re.sub(r"\s?(?:x|ext\.?)\s?\d{1,5}$", "", value))
        if re.match(r"\d{4}[-/.]\d{2}[-/.]\d{2}\b", value):
            continue  # an ISO date (and maybe a time)
        if not 7 <= len(digits) <= 15:
            continue
        if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}", value):
            continue  # a date
        if re.fullmatch(r"\d+", value) and not value.startswith("+") and len(digits) < 10:
            continue  # a bare number
        if re.fullmatch(r"\d{3}-\d{2}-\d{4}", value):
            continue  # SSN-shaped (an invalid SSN is not a phone number either)
        yield m.start(), m.end(), "PHONE"


def _addresses(text: str) -> Iterator[Found]:
    for m in _ADDRESS_CUE.finditer(text):  # first: the cue's whole line beats a street word inside it
        if re.search(r"\d\D+\d|[^\W\d_]{3,}", m.group(1)):
            yield m.start(1), m.end(1), "ADDRESS"
    for m in _STREET_ON.finditer(text):
        yield m.start(1), m.end(1), "ADDRESS"
    for m in _ADDRESS.finditer(text):
        yield m.start(), m.end(), "ADDRESS"


def _every(pattern: re.Pattern[str], label: str) -> Callable[[str], Iterator[Found]]:
    """A detector that labels every match of ``pattern`` (no validator)."""

    def detect(text: str) -> Iterator[Found]:
        for m in pattern.finditer(text):
            yield m.start(), m.end(), label

    detect.__name__ = f"_{label.lower()}s"
    return detect


def _licenses(text: str) -> Iterator[Found]:
    for m in _LICENSE.finditer(text):
        if any(c.isdigit() for c in m.group(1)):
            yield m.start(1), m.end(1), "DRIVER_LICENSE"


def _secrets(text: str) -> Iterator[Found]:
    for m in _SECRET_PREFIX.finditer(text):
        yield m.start(), m.end(), "SECRET"
    for m in _SECRET_ASSIGN.finditer(text):
        value = m.group(1)
        if _entropy(value) >= 3.0 and any(c.isdigit() for c in value):
            yield m.start(1), m.end(1), "SECRET"


DETECTORS: list[Callable[[str], Iterator[Found]]] = [
    _secrets,
    _every(_URL, "URL"),
    _emails,
    _ibans,
    _cards,
    _ssns,
    _ips,
    _licenses,
    _every(_DATE, "DATE"),
    _addresses,
    _phones,
]
"""In priority order: an earlier detector's span wins an overlap."""


def find(text: str) -> list[Found]:
    """Non-overlapping ``(start, end, label)``, earlier detectors first on overlaps, in text order."""
    taken: list[Found] = []
    for detect in DETECTORS:
        for start, end, label in detect(text):
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, label))
    return sorted(taken)
