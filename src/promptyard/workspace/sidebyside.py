"""Two texts aligned line by line for a side-by-side view (the page escapes every line)."""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel

__all__ = ["Row", "side_by_side"]

RowKind = Literal["equal", "changed", "removed", "added"]


class Row(BaseModel):
    kind: RowKind
    old_no: int | None = None
    old: str | None = None
    new_no: int | None = None
    new: str | None = None


def side_by_side(old_text: str, new_text: str) -> list[Row]:
    """Rows pairing the lines of ``old_text`` and ``new_text`` (changed blocks line up top to bottom)."""
    a, b = old_text.splitlines(), new_text.splitlines()
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(
                Row(kind="equal", old_no=i + 1, old=a[i], new_no=j + 1, new=b[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            old = a[i] if i < i2 else None
            new = b[j] if j < j2 else None
            kind: RowKind = "changed" if old is not None and new is not None else "removed" if new is None else "added"
            rows.append(
                Row(
                    kind=kind,
                    old_no=i + 1 if old is not None else None,
                    old=old,
                    new_no=j + 1 if new is not None else None,
                    new=new,
                )
            )
    return rows
