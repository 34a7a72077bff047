"""Untrusted values: stripped, neutralized and wrapped in nonce-named delimiter tags.

A variable declared ``untrusted: true`` reaches the template as a :class:`WrappedText`
whose text is ``<user_input-9f3ac1d2>…</user_input-9f3ac1d2>``: the tag base is the
variable's ``delimiter`` and the suffix is a random nonce drawn for each render. Inside
the value:

* control characters other than newline and tab are removed;
* anything that could open or close a delimiter tag of this prompt (``<user_input``,
  ``</ USER_INPUT-x>``, any suffix, any case, spaces allowed) has its ``<`` replaced by
  ``&lt;``. Nothing else changes, so ordinary text (and ``<b>``) stays as it was.

Lists and objects are processed recursively: every string inside is wrapped the same
way (dictionary keys are cleaned, not wrapped). An empty string stays empty (and falsy).
In a template, ``value.unwrapped`` gives the cleaned text without the tags, for short
identifiers such as a document id in a citation; use it deliberately, since that text
is no longer marked as data.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NONCE_RE", "Sanitizer", "WrappedText", "new_nonce", "strip_control"]

NONCE_RE = re.compile(r"[A-Za-z0-9]{1,64}")
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def new_nonce() -> str:
    """A fresh random nonce (8 hex characters)."""
    return secrets.token_hex(4)


def strip_control(text: str) -> str:
    """Remove control characters (C0, DEL, C1) except newline and tab."""
    return _CONTROL_RE.sub("", text)


@functools.lru_cache(maxsize=256)
def _opener_pattern(bases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(base) for base in sorted(bases, key=len, reverse=True))
    return re.compile(rf"<(?=\s*/?\s*(?:{alternatives}))", re.IGNORECASE)


class WrappedText(str):
    """An untrusted string as the template sees it: the wrapped text, with ``.unwrapped`` alongside.

    The text is ``<tag>cleaned</tag>`` (or empty). The opening tag ends at the first
    ``>`` (tag names hold none) and the closing tag starts at the last ``</`` (the
    closing tag holds no other ``<``), so the cleaned value is recovered by slicing.
    """

    __slots__ = ()

    @property
    def unwrapped(self) -> str:
        """The cleaned value without its delimiter tags."""
        if not self:
            return ""
        return str.__str__(self)[self.index(">") + 1 : self.rindex("</")]


_SCALARS = frozenset({int, float, bool, type(None)})
_EMPTY = WrappedText("")  # nothing to mark; stays falsy for {% if %}


class Sanitizer:
    """Cleans and wraps untrusted values for one render (one nonce).

    ``delimiters`` are every tag base used by the prompt: a value is neutralized
    against all of them, so a document cannot close the question's block either.
    """

    def __init__(self, delimiters: Iterable[str], nonce: str) -> None:
        bases = tuple(sorted(set(delimiters)))
        if not bases:
            raise ValueError("at least one delimiter is needed")
        if not NONCE_RE.fullmatch(nonce):
            raise ValueError(f"invalid nonce {nonce!r}: use 1 to 64 letters or digits")
        self.nonce = nonce
        self._opener = _opener_pattern(bases)

    def clean(self, text: str) -> str:
        """Strip control characters and neutralize anything that could open or close a delimiter tag."""
        if not text.isprintable():  # fast path: printable text has no control characters
            text = _CONTROL_RE.sub("", text)
        if "<" in text:
            text = self._opener.sub("&lt;", text)
        return text

    def tag(self, delimiter: str) -> str:
        """The tag name for ``delimiter`` in this render, e.g. ``user_input-9f3ac1d2``."""
        return f"{delimiter}-{self.nonce}"

    def wrap(self, text: str, delimiter: str) -> WrappedText:
        """Clean ``text`` and wrap it in this render's tags for ``delimiter``."""
        cleaned = self.clean(text)
        if not cleaned:
            return _EMPTY
        tag = f"{delimiter}-{self.nonce}"
        return WrappedText(f"<{tag}>{cleaned}</{tag}>")

    def value(self, value: Any, delimiter: str) -> Any:
        """Wrap a string; recurse into lists, tuples and mappings; leave other scalars alone.

        This runs for every untrusted value of every render, so string leaves are
        handled inline (no call per leaf); the steps are those of :meth:`wrap`.
        """
        opening, closing = f"<{delimiter}-{self.nonce}>", f"</{delimiter}-{self.nonce}>"
        control_sub, opener_sub = _CONTROL_RE.sub, self._opener.sub
        clean = self.clean

        def leaf(text: str) -> WrappedText:
            if not text.isprintable():
                text = control_sub("", text)
            if "<" in text:
                text = opener_sub("&lt;", text)
            return WrappedText(opening + text + closing) if text else _EMPTY

        def walk(item: Any) -> Any:
            kind = type(item)  # exact JSON types first; the ABC checks are slow
            if kind is str:
                return leaf(item)
            if kind is list or kind is tuple:
                return [walk(child) for child in item]
            if kind in _SCALARS:
                return item
            if isinstance(item, str):
                return leaf(item)
            if isinstance(item, Mapping):
                out: dict[Any, Any] = {}
                for key, child in item.items():
                    if isinstance(key, str) and not key.isidentifier():
                        key = clean(key)  # identifiers cannot hold '<' or control characters
                    kind = type(child)
                    if kind is str:
                        if not child.isprintable():
                            child = control_sub("", child)
                        if "<" in child:
                            child = opener_sub("&lt;", child)
                        out[key] = WrappedText(opening + child + closing) if child else _EMPTY
                    elif kind in _SCALARS:
                        out[key] = child
                    else:
                        out[key] = walk(child)
                return out
            if isinstance(item, (list, tuple)):
                return [walk(child) for child in item]
            return item

        return walk(value)
