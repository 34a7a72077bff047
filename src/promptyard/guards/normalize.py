"""Undo the cheap disguises of an attack before anything looks for it.

- NFKC folds full-width and styled letters (``ｉｇｎｏｒｅ``, ``𝐢𝐠𝐧𝐨𝐫𝐞``) to plain ones;
- a small confusables table maps Cyrillic and Greek lookalikes to Latin (``іgnоrе``);
- zero-width and bidi control characters are dropped, and letters spaced apart
  (``i g n o r e``) are joined;
- base64, hex and rot13 payloads are decoded and checked as extra views of the text.

Every view keeps a map back to the original characters where it can (``offsets``), so spans
found in the normalized text point at the original.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067,
     0x2068, 0x2069, 0x061C, 0x034F],
)  # fmt: skip
_TAGS = range(0xE0000, 0xE0080)
"""Unicode tag characters: invisible ASCII look-alikes used to smuggle instructions."""

_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
        "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ѵ": "v", "ԝ": "w", "А": "A", "В": "B", "Е": "E",
        "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "І": "I", "Ѕ": "S",
        # Greek
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
        "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z",
        # leetspeak inside words is handled by the phrase patterns, not here
    }
)  # fmt: skip

_SPACED = re.compile(r"\b(?:[A-Za-z][ .\-_*]){3,}[A-Za-z]\b")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){12,}\b")


@dataclass(frozen=True, slots=True)
class View:
    """One way of reading the text: ``offsets[i]`` is the original index of ``text[i]``."""

    kind: str
    text: str
    offsets: list[int] | None = None
    origin: tuple[int, int] | None = None
    """Decoded payloads: the span of the original text they were decoded from."""

    def original(self, start: int, end: int, length: int) -> tuple[int, int]:
        if self.origin is not None:
            return self.origin
        if self.offsets is None or not self.offsets:
            return max(0, min(start, length)), max(0, min(end, length))
        s = self.offsets[min(start, len(self.offsets) - 1)]
        e = self.offsets[min(max(end - 1, 0), len(self.offsets) - 1)] + 1
        return s, e


def normalize(text: str) -> View:
    """NFKC, confusables to Latin, invisible characters dropped, spaced-out letters joined."""
    chars: list[str] = []
    offsets: list[int] = []
    for index, ch in enumerate(text):
        code = ord(ch)
        if code in _INVISIBLE or code in _TAGS:
            continue
        folded = unicodedata.normalize("NFKC", ch).translate(_CONFUSABLES)
        for out in folded:
            chars.append(out)
            offsets.append(index)
    flat = "".join(chars)
    joined: list[str] = []
    joined_offsets: list[int] = []
    last = 0
    for match in _SPACED.finditer(flat):
        joined.append(flat[last : match.start()])
        joined_offsets.extend(offsets[last : match.start()])
        for i in range(match.start(), match.end()):
            if flat[i].isalpha():
                joined.append(flat[i])
                joined_offsets.append(offsets[i])
        last = match.end()
    joined.append(flat[last:])
    joined_offsets.extend(offsets[last:])
    return View("normalized", "".join(joined), joined_offsets)


def _printable(data: bytes) -> str | None:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() or c.isspace() for c in decoded)
    return decoded if decoded and letters / len(decoded) > 0.8 else None


def decoded_views(text: str) -> list[View]:
    """Base64, hex and rot13 readings of the text that decode to readable words."""
    views: list[View] = []
    for match in _B64.finditer(text):
        token = match.group(0)
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _printable(raw)
        if decoded and " " in decoded:
            views.append(View("base64", decoded, origin=(match.start(), match.end())))
    for match in _HEX.finditer(text):
        try:
            raw = bytes.fromhex(re.sub(r"[ :]", "", match.group(0)))
        except ValueError:
            continue
        decoded = _printable(raw)
        if decoded:
            views.append(View("hex", decoded, origin=(match.start(), match.end())))
    if re.search(r"\brot-?13\b|\bcaesar\b", text, re.IGNORECASE) or re.search(r"\bvtaber\b|\bcerivbhf\b", text, re.I):
        views.append(View("rot13", codecs.decode(text, "rot13"), offsets=list(range(len(text)))))
    return views


def views(text: str) -> list[View]:
    """Every reading of ``text`` a detector should look at: normalized first, then decoded payloads."""
    return [normalize(text), *decoded_views(text)]
