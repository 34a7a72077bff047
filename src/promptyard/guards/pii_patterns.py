"""Structured PII found by pattern and confirmed by validator: no model needed.

Labels: EMAIL, PHONE, ADDRESS (street lines: number + street word, "Nassaustraat 12", "Apt. 5"), CREDIT_CARD (Luhn), IBAN (ISO 7064 mod 97), SSN (US, with the
SSA's impossible areas excluded), IP (v4 octets checked, v6), SECRET (API keys and tokens
by known prefix, plus ``key = value`` assignments of long random-looking values).
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
    rf"(?i)\b\d{{1,5}}[a-z]?\s+(?:[^\W\d_][\w'.-]*\s+){{0,3}}?{_STREET}\b\.?(?:\s+[^\W\d_][\w'-]+){{0,3}}?"
    rf"(?:\s+\d{{1,5}})?(?:,?\s+(?:apt|apartment|suite|unit|ste)\.?\s*\d{{1,5}})?"
    # "Nassaustraat 123", "Ziegelgasse 26", "Auerstrasse 12 Apt. 974"
    r"|\b[^\W\d_][\w-]*(?:straat|strasse|straße|gasse|weg|laan|plein|platz|gata|gatan|gade|vej|utca|útja|ulica|allee)"
    r"\s+\d{1,5}[a-z]?\b(?:,?\s+(?:apt|suite|unit)\.?\s*\d{1,5})?"
    # "Apt. 018", "suite 771"
    r"|(?i:\b(?:apt|apartment|suite|unit)\.?\s*#?\d{1,5}\b)"
)


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
    for m in _ADDRESS.finditer(text):
        yield m.start(), m.end(), "ADDRESS"


def _secrets(text: str) -> Iterator[Found]:
    for m in _SECRET_PREFIX.finditer(text):
        yield m.start(), m.end(), "SECRET"
    for m in _SECRET_ASSIGN.finditer(text):
        value = m.group(1)
        if _entropy(value) >= 3.0 and any(c.isdigit() for c in value):
            yield m.start(1), m.end(1), "SECRET"


DETECTORS: list[Callable[[str], Iterator[Found]]] = [
    _secrets,
    _emails,
    _ibans,
    _cards,
    _ssns,
    _ips,
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
