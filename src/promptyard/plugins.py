"""Adapter registries filled from entry points.

Each seam has an entry-point group (``promptyard.providers``, ``promptyard.embedders``,
``promptyard.vector_stores``, ``promptyard.rerankers``, ``promptyard.answer_caches``).
Built-in adapters register through the same groups a third-party package would use, so
adding one touches its own file, its test and one line of ``pyproject.toml``.
Tests register fakes with :func:`register` and remove them with :func:`unregister`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from promptyard.errors import ConfigError

log = logging.getLogger(__name__)

Factory = Callable[..., Any]

_loaded: dict[str, dict[str, Factory]] = {}
_overrides: dict[str, dict[str, Factory]] = {}
#: Entry points that failed to import: group -> name -> error text. Visible, never silent.
load_failures: dict[str, dict[str, str]] = {}


def _load_group(group: str) -> dict[str, Factory]:
    if group not in _loaded:
        found: dict[str, Factory] = {}
        for ep in entry_points(group=group):
            found[ep.name] = _lazy(group, ep.name, ep.value)
        _loaded[group] = found
    return _loaded[group]


def _lazy(group: str, name: str, target: str) -> Factory:
    def factory(*args: Any, **kwargs: Any) -> Any:
        from importlib import import_module

        module_name, _, attr = target.partition(":")
        try:
            fn: Factory = getattr(import_module(module_name), attr)
        except Exception as exc:  # recorded, then re-raised as ConfigError
            load_failures.setdefault(group, {})[name] = f"{exc.__class__.__name__}: {exc}"
            log.warning("adapter %s/%s failed to load: %s", group, name, exc)
            raise ConfigError(f"adapter {name!r} in {group} failed to load: {exc}") from exc
        return fn(*args, **kwargs)

    return factory


def names(group: str) -> list[str]:
    """Every adapter name registered for ``group``."""
    return sorted({**_load_group(group), **_overrides.get(group, {})})


def get(group: str, name: str) -> Factory:
    """The factory for adapter ``name``; a ConfigError lists the known names."""
    registry = {**_load_group(group), **_overrides.get(group, {})}
    try:
        return registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown {group.removeprefix('promptyard.')} adapter {name!r}",
            hint="known: " + ", ".join(sorted(registry)),
        ) from None


def register(group: str, name: str, factory: Factory) -> None:
    """Register an adapter at run time (tests, notebooks). Wins over entry points."""
    _overrides.setdefault(group, {})[name] = factory


def unregister(group: str, name: str) -> None:
    _overrides.get(group, {}).pop(name, None)


def is_registered(group: str, name: str) -> bool:
    """True when ``name`` was registered at run time with :func:`register` (not only an entry point)."""
    return name in _overrides.get(group, {})
