"""Names of people, places and organisations without a model: gazetteers plus context rules.

The word lists (:mod:`.gazetteer`) say what a token can be: a first or last name (Faker's lists
for every locale), a place (GeoNames: countries, US states, cities of 5,000+), an English word
(SCOWL). The rules, fixed in advance and not per item:

- a run of name-like tokens on one line is one entity; a token is name-like when it is a known
  name that is no common English word ("tracy", "Pesälä": any case), a known name that is also a
  word ("Will", "Rose") only capitalised mid-sentence or next to a sure one, or a capitalised
  token that is no English word at all ("Morishita", "Jonak");
- a run becomes an ORGANIZATION when a company word ends it ("Areavibes Inc", "Tableau Software")
  or a cue precedes it ("work for", "a year at"), or it reads "Hubbard, Fox and Gillespie";
- a LOCATION when it is a known place or follows a place cue ("in", "from", "lives in") and holds
  no known first name; otherwise a PERSON;
- lines and comma parts after a street line are the rest of the address: a postcode or state
  code is ADDRESS, a place or capitalised name is LOCATION (:func:`address_tail`).
Honorifics ("Mr.", "Dr.") are TITLE and make what follows a PERSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from promptyard.guards.gazetteer import Gazetteer
from promptyard.guards.gazetteer import load as load_gazetteer

Found = tuple[int, int, str]

_TOKEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_HONORIFIC = re.compile(
    r"\b(?:[Mm]r|[Mm]rs|[Mm]s|[Mm]iss|[Mm]x|[Dd]r|[Pp]rof|[Ss]ir|[Mm]adam|[Hh]err|[Ff]rau|[Mm]me|[Mm]lle)\b\.?"
)
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "  # noqa: SIM905
    "august september october november december".split()
)
_ORG_SUFFIX = frozenset(
    "inc llc ltd limited corp corporation gmbh ag aktiengesellschaft plc sa srl bv nv spa co company software "  # noqa: SIM905
    "consulting group systems technologies technology solutions partners associates holding holdings bank "
    "bancorp bankshares securities trust capital labs university institute foundation industries enterprises "
    "ventures media studios services pharmaceuticals therapeutics resources energy".split()
)
_FUNCTION = frozenset(  # closed-class English words that are also someone's name somewhere ("Can", "Will")
    "a an the and or but if so as at by for from in into of on to with can will may might must shall should would "  # noqa: SIM905
    "could do does did don is are was were be been am has have had i me my we us our you your he him his she her "
    "it its they them their this that these those who whom what when where why how not no yes all any some".split()
)
_PLACE_SUFFIX = re.compile(
    # English place-name endings on a capitalised word no list knows: "Sarachester", "Lake Xville"
    r"(?i)(?:ville|burgh?|chester|mouth|town|field|ford|port|haven|borough|bury|stad|heim|dorf|hausen|shire)$"
)
_ORG_CUE = re.compile(
    r"(?i)\b(?:work(?:s|ed|ing)? (?:for|at)|employed (?:by|at)|(?:a )?(?:year|job|internship|position) at|"
    r"joined|founded|ceo of|director of|according to the)\s+$"
)
_PLACE_CUE = re.compile(
    r"(?i)\b(?:in|from|near|to|lives? in|living in|born in|grew up in|moved to|arrived at|visit(?:ed|ing)?|"
    r"located in|based in|city of|town of)\s+$"
)
_NAME_CUE = re.compile(
    r"(?i)\b(?:my name is|name is|name's|names? (?:are|is)|call(?:s)? me|called|dear|hi|hello|thanks|"
    r"signed|with|by|and|told|asked|said|says)\s+$"
)
_SENTENCE_END = re.compile(r"(?:^|[.!?:\n;]|\?\?\?)[\s\"'“‘(\[-]*$")
_POSTCODE = re.compile(r"^(?:[A-Z]{1,3}[- ]?)?\d{4,6}(?:-\d{4})?$|^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$")
_STATE = re.compile(r"^(?:[A-Z]{2,3}|nan)$")
_LOCATION_CAP = re.compile(r"^[^\W\d_][^\W\d_'’ .-]*(?:[ -][^\W\d_][^\W\d_'’.-]*){0,3}(?: \(.*\))?(?: \d{1,2})?$")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    low: str
    cap: bool
    initial: bool


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        start, end, value = m.start(), m.end(), m.group(0)
        tail = re.search(r"['’](?:s|m|d|re|ve|ll|t)$", value, re.IGNORECASE)
        if tail:  # "Arne's", "I'm", "You're"
            end, value = end - len(tail.group(0)), value[: -len(tail.group(0))]
        initial = bool(_SENTENCE_END.search(text[max(0, start - 12) : start])) or start == 0
        out.append(Token(start, end, value, value.lower(), value[0].isupper(), initial))
    return out


def _sure(g: Gazetteer, t: Token) -> bool:
    """A name whatever its case: known, and no English word or capitalised-only word."""
    return g.is_name(t.low) and not g.is_word(t.low) and t.low not in g.proper


def _name_like(g: Gazetteer, t: Token) -> bool:
    if len(t.text) < 2 or t.low in g.proper or t.low in _CALENDAR or t.low in _FUNCTION or t.low in g.demonyms:
        return False
    if t.text.isupper() and re.fullmatch(r"[IVXLCDM]+", t.text):
        return False  # a Roman numeral: "XLVII"
    if t.text.isupper() and ((len(t.text) <= 4 and not g.is_name(t.low)) or g.is_word(t.low)):
        return False  # an acronym ("SSN", "USA") or shouting ("DON'T", "REAL")
    if _sure(g, t):
        return True
    if not t.cap or (t.text.isupper() and len(t.text) > 3 and g.is_word(t.low)):
        return False
    if g.is_word(t.low):
        return g.is_name(t.low) and not t.initial
    return True  # capitalised, and no English word


def _joined(text: str, a: Token, b: Token) -> bool:
    return text[a.end : b.start] in (" ", "-")


def _place_at(g: Gazetteer, text: str, toks: Sequence[Token], i: int) -> int:
    """How many tokens from ``i`` form a known place (0: none)."""
    for n in range(min(g.longest_place, len(toks) - i), 0, -1):
        run = toks[i : i + n]
        if any(not _joined(text, a, b) and text[a.end : b.start] != " " for a, b in pairwise(run)):
            continue
        key = " ".join(t.low for t in run)
        if key not in g.places or key in _CALENDAR:  # "in March" is a month before it is a town
            continue
        plain = all(g.is_word(t.low) or t.low in g.proper for t in run)
        cued = bool(_PLACE_CUE.search(text[max(0, run[0].start - 30) : run[0].start]))
        if plain and not (run[0].cap and not run[0].text.isupper() and (cued or n > 1)):
            continue  # "nice", "Mobile", "REAL", "Union": a plain word needs a place cue
        return n
    return 0


def _classify(g: Gazetteer, text: str, run: Sequence[Token]) -> str:
    before = text[max(0, run[0].start - 30) : run[0].start]
    after = text[run[-1].end : run[-1].end + 12]
    if run[-1].low in _ORG_SUFFIX and len(run) > 1:
        return "ORGANIZATION"
    if re.match(r"\s+(?:inc|llc|ltd|corp|gmbh|plc)\b", after, re.IGNORECASE) or _ORG_CUE.search(before):
        return "ORGANIZATION"
    has_first = any(t.low in g.first and not g.is_word(t.low) for t in run)
    key = " ".join(t.low for t in run)
    cued = _PLACE_CUE.search(before) and not _NAME_CUE.search(before[-8:])
    if (cued and (key in g.places or not has_first)) or (key in g.places and not has_first):
        return "LOCATION"
    if not any(g.is_name(t.low) for t in run) and _PLACE_SUFFIX.search(run[-1].low):
        return "LOCATION"
    return "PERSON"


def find(text: str, taken: Iterable[Found] = ()) -> list[Found]:
    """PERSON, LOCATION, ORGANIZATION and TITLE spans outside ``taken`` (the pattern spans)."""
    g = load_gazetteer()
    blocked = sorted((s, e) for s, e, _ in taken)
    toks = [t for t in tokens(text) if all(t.end <= s or t.start >= e for s, e in blocked)]
    out: list[Found] = []
    for m in _HONORIFIC.finditer(text):
        nxt = re.match(r"\s+([^\W\d_][\w'’-]+)", text[m.end() :])
        if nxt and nxt.group(1)[0].isupper():
            # a TITLE when capitalised; "ms." stays a name cue only (it is also milliseconds)
            if m.group(0)[0].isupper():
                out.append((m.start(), m.end(), "TITLE"))
            out.append((m.end(), m.end(), "CUE"))
    titled = {e for _, e, label in out if label == "CUE"}
    out.extend(_orgs(text, toks, g))
    i = 0
    while i < len(toks):
        t = toks[i]
        if any(t.start < e and s < t.end for s, e, _ in out):
            i += 1
            continue
        titled_here = any(0 <= t.start - e <= 2 for e in titled)
        if t.low in g.demonyms and (t.cap or not g.is_word(t.low)) and not titled_here:
            out.append((t.start, t.end, "LOCATION"))  # a nationality ("Swedish"), presidio's NRP
            i += 1
            continue
        n = _place_at(g, text, toks, i)
        if n and not (n == 1 and t.low in g.first and not g.is_word(t.low)):
            out.append((t.start, toks[i + n - 1].end, "LOCATION"))
            i += n
            continue
        plain_word = g.is_word(t.low) and not g.is_name(t.low)  # "200 ms. Later"
        after_title = any(0 <= t.start - e <= 2 for e in titled) and not plain_word
        if not (_name_like(g, t) or (after_title and t.cap)):
            i += 1
            continue
        j = i + 1
        while j < len(toks) and j - i < 4 and _joined(text, toks[j - 1], toks[j]):
            if not (_name_like(g, toks[j]) or (after_title and toks[j].cap)):
                break
            j += 1
        run = toks[i:j]
        label = "PERSON" if after_title else _classify(g, text, run)
        out.append((run[0].start, run[-1].end, label))
        i = j
    return sorted(f for f in out if f[2] != "CUE")


def _orgs(text: str, toks: Sequence[Token], g: Gazetteer) -> list[Found]:
    """Capitalised words ending in a company word, and "Last, Last and Last" firm names."""
    out: list[Found] = []
    for k, t in enumerate(toks):
        if t.low not in _ORG_SUFFIX or k == 0 or not (t.cap or toks[k - 1].cap):
            continue
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if nxt is not None and nxt.low in _ORG_SUFFIX and text[t.end : nxt.start] in (" ", ") ", ", "):
            continue  # "Securities Limited": the last company word ends the name
        i = k
        while i > 0 and k - i < 4 and text[toks[i - 1].end : toks[i].start] in (" ", ", ", " (", ") ", " & "):
            if not (toks[i - 1].cap or (toks[i - 1].low in ("of", "and") and i - 1 > 0 and toks[i - 2].cap)):
                break
            i -= 1
        if i < k and not toks[i].cap:
            i += 1
        if i < k:
            end = t.end + 1 if text[t.end : t.end + 1] == "." and len(t.text) <= 4 else t.end
            out.append((toks[i].start, end, "ORGANIZATION"))
    for m in re.finditer(r"\b([A-Z][\w'’-]+), ([A-Z][\w'’-]+),? (?:and|&) ([A-Z][\w'’-]+)\b", text):
        if all(g.is_name(w.lower()) for w in m.groups()):
            out.append((m.start(), m.end(), "ORGANIZATION"))
    return out


def address_tail(text: str, end: int, taken: Sequence[Found]) -> list[Found]:
    """The city, state, postcode and country parts after a street line ending at ``end``."""
    g = load_gazetteer()
    out: list[Found] = []
    pos = end
    for _ in range(6):
        m = re.match(r"[ \t]*(?:,[ \t]*|(?:[ \t]*\n)+[^\w\n]{0,4}?[ \t]*(?:,[ \t]*)?|\.?[ \t]+)", text[pos:])
        if m is None:
            break
        seg_start = pos + m.end()
        seg_end_m = re.search(r"[,\n]|\.\s|\.$|$", text[seg_start:])
        assert seg_end_m is not None
        seg_end = seg_start + seg_end_m.start()
        seg = text[seg_start:seg_end].rstrip(" .")
        known = [e for s, e, label in taken if s == seg_start and label == "ADDRESS"]
        if known:  # "Apt. 018" on its own line: already an address part, go on after it
            pos = known[0]
            continue
        if not seg or len(seg) > 40 or any(s < seg_start + len(seg) and seg_start < e for s, e, _ in taken):
            break
        parts = _segment(g, seg, m.group(0).strip() == "")
        if parts is None:
            break
        out.extend((seg_start + s, seg_start + e, label) for s, e, label in parts)
        pos = seg_start + len(seg)
    return out


def _segment(g: Gazetteer, seg: str, same_line: bool) -> list[Found] | None:
    """One part of an address: [(start, end, label)] relative to ``seg``, or None when it is prose."""
    words = seg.split()
    if _POSTCODE.match(seg) or _STATE.match(seg):
        return [(0, len(seg), "ADDRESS")]
    zip_m = re.match(r"^(.*?)[ ,]+((?:[A-Z]{1,3} )?\d{4,6})$", seg)
    if zip_m and zip_m.group(1):
        head = _segment(g, zip_m.group(1), same_line)
        return (head or []) + [(zip_m.start(2), zip_m.end(2), "ADDRESS")] if head is not None else None
    if same_line and len(words) > 2:
        # "Lyss São Tomé": after a street on the same line, only known places
        return None
    common = sum(g.is_word(w.lower()) for w in words)
    if (
        _LOCATION_CAP.match(seg)
        and (seg[0].isupper() or seg.lower() in g.places or common == 0)
        and common < len(words)
    ):
        return [(0, len(seg), "LOCATION")]
    return None
