"""Read files into documents: ``.md``, ``.txt``, ``.html``, ``.pdf`` and ``.jsonl``.

A ``.jsonl`` file holds one document per line with ``id`` (or ``_id`` / ``doc_id``),
``title`` and ``text``; other fields become metadata, so BEIR corpora load as they are.
Other files are one document each, whose id is the path as given on the command line
(``docs/rag.md``). A file that cannot be read raises :class:`LoadError` with the reason;
the ingest reports it and carries on with the other files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from promptyard.rag.models import Document


class LoadError(Exception):
    """A file could not be turned into documents. The message says why."""


Loader = Callable[[Path, str], list[Document]]


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is inside it, else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text (byte {exc.start})") from exc


def _one(doc_id: str, title: str, text: str, source: str, kind: str, *, markdown: bool = False) -> list[Document]:
    if not text.strip():
        raise LoadError("no text in the file")
    meta = {"type": kind}
    return [Document(doc_id=doc_id, title=title, text=text, source=source, metadata=meta, markdown=markdown)]


def load_markdown(path: Path, source: str) -> list[Document]:
    text = _read_text(path)
    title = path.stem
    for line in text.splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
            break
    return _one(source, title, text, source, "markdown", markdown=True)


def load_text(path: Path, source: str) -> list[Document]:
    return _one(source, path.stem, _read_text(path), source, "text")


def load_html(path: Path, source: str) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title_tag = soup.title or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else path.stem
    lines = [ln.strip() for ln in soup.get_text("\n").splitlines()]
    text = "\n".join(ln for ln in lines if ln)
    return _one(source, title, text, source, "html")


def load_pdf(path: Path, source: str) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except (PyPdfError, OSError, ValueError, KeyError) as exc:
        raise LoadError(f"unreadable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise LoadError("the PDF has no extractable text (scanned images need OCR first)")
    return _one(source, str(meta_title or path.stem), text, source, "pdf")


def load_jsonl(path: Path, source: str) -> list[Document]:
    docs: list[Document] = []
    seen: set[str] = set()
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadError(f"line {lineno}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise LoadError(f"line {lineno}: expected a JSON object")
        raw_id = row.pop("id", None) or row.pop("_id", None) or row.pop("doc_id", None)
        text = row.pop("text", None)
        if raw_id is None or not isinstance(text, str):
            raise LoadError(f"line {lineno}: needs 'id' (or '_id') and a string 'text'")
        doc_id = str(raw_id)
        if doc_id in seen:
            raise LoadError(f"line {lineno}: duplicate id {doc_id!r}")
        seen.add(doc_id)
        title = str(row.pop("title", "") or "")
        meta = {k: v for k, v in row.items() if isinstance(v, str | int | float | bool)}
        if text.strip() or title.strip():
            docs.append(Document(doc_id=doc_id, title=title, text=text or title, source=source, metadata=meta))
    if not docs:
        raise LoadError("no documents in the file")
    return docs


LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".jsonl": load_jsonl,
}


def expand(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]], list[str]]:
    """Files to read, ``(path, error)`` for missing ones, and files skipped in folders.

    Folders are walked (hidden entries skipped); a file found there whose type has no
    loader is skipped, not failed, so a ``docs/`` folder with a ``.yml`` in it ingests.
    A file named on its own is always read, and fails clearly when its type is unsupported.
    """
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    skipped: list[str] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(n for n in names if not n.startswith(".")):
                    found = Path(root) / name
                    if found.suffix.lower() in LOADERS:
                        files.append(found)
                    else:
                        skipped.append(display_path(found))
        elif path.exists():
            files.append(path)
        else:
            missing.append((display_path(path), "no such file or directory"))
    return list(dict.fromkeys(files)), missing, list(dict.fromkeys(skipped))


def load_file(path: Path) -> list[Document]:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r} (supported: {', '.join(sorted(LOADERS))})")
    return loader(path, display_path(path))
