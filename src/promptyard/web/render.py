"""Rendering the operator pages: one autoescaping Jinja environment and a few filters.

Static files (our CSS/JS and the vendored Chart.js, no CDN) are served by the admin
router from ``web/static`` under ``/admin/static/``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"

#: Pages load scripts and styles from this server only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def money(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if 0 < abs(value) < 0.01 and digits <= 2:
        return f"${value:.4f}"
    return f"${value:,.{digits}f}"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def number(value: int | float | None) -> str:
    return "–" if value is None else f"{value:,}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, ms=ms, pct=pct, when=when, number=number)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def static_file(name: str) -> Path | None:
    """A file under ``web/static`` (no path traversal), or ``None``."""
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR.resolve()) or not path.is_file():
        return None
    return path
