"""Provider instances by name, created lazily through the ``promptyard.providers`` entry points.

A provider is *configured* (usable) when it was registered at run time with
:func:`promptyard.plugins.register`, or when its module's ``configured(settings)``
function says so (a module without one is always configured). The built-in rules:
``local`` always; ``openai`` / ``anthropic`` when an API key or a non-default base URL
is set; ``fake`` only when registered.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from promptyard import plugins
from promptyard.errors import ConfigError, UnknownModel
from promptyard.providers.base import Provider

if TYPE_CHECKING:
    from promptyard.settings import Settings

log = logging.getLogger(__name__)

GROUP = "promptyard.providers"


def parse_model(spec: str) -> tuple[str, str]:
    """``"provider/model"`` -> ``("provider", "model")``; the model may contain more slashes."""
    provider, sep, model = spec.strip().partition("/")
    if not sep or not provider or not model:
        raise UnknownModel(f"model {spec!r} must be written 'provider/model' (e.g. 'local/smollm2-135m-instruct')")
    return provider, model


class ProviderRegistry:
    """One instance per provider name for a Runtime; close them with :meth:`aclose`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._instances: dict[str, Provider] = {}
        self._module_verdicts: dict[str, bool] = {}

    parse_model = staticmethod(parse_model)

    def is_configured(self, name: str) -> bool:
        if plugins.is_registered(GROUP, name):
            return True
        if name in self._module_verdicts:
            return self._module_verdicts[name]
        verdict = self._module_says(name)
        self._module_verdicts[name] = verdict
        return verdict

    def _module_says(self, name: str) -> bool:
        found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
        if not found:
            return False
        module_name = found[0].value.partition(":")[0]
        try:
            module = import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - recorded and visible, the provider is then unusable
            plugins.load_failures.setdefault(GROUP, {})[name] = f"{exc.__class__.__name__}: {exc}"
            log.warning("provider %s failed to import: %s", name, exc)
            return False
        check = getattr(module, "configured", None)
        return bool(check(self.settings)) if callable(check) else True

    def configured(self) -> list[str]:
        """Names of the providers that can be used with the current settings."""
        return [name for name in plugins.names(GROUP) if self.is_configured(name)]

    def get(self, name: str) -> Provider:
        """The shared instance of provider ``name``; UnknownModel lists the configured ones."""
        instance = self._instances.get(name)
        if instance is not None:
            return instance
        if not self.is_configured(name):
            known = name in plugins.names(GROUP)
            message = (
                f"provider {name!r} is not configured (set PROMPTYARD_{name.upper()}_API_KEY or _BASE_URL)"
                if known
                else f"unknown provider {name!r}"
            )
            raise UnknownModel(message, available=self.configured())
        created = plugins.get(GROUP, name)(self.settings)
        if not isinstance(created, Provider):
            raise ConfigError(f"provider factory {name!r} returned {type(created).__name__}, not a Provider")
        self._instances[name] = created
        return created

    def resolve(self, spec: str) -> tuple[Provider, str]:
        """``"provider/model"`` -> ``(provider instance, model name)``."""
        provider, model = parse_model(spec)
        return self.get(provider), model

    def instances(self) -> dict[str, Provider]:
        """The providers created so far."""
        return dict(self._instances)

    async def aclose(self) -> None:
        """Close every created provider (failures are logged, never raised)."""
        instances, self._instances = list(self._instances.items()), {}
        results = await asyncio.gather(*(p.aclose() for _, p in instances), return_exceptions=True)
        for (name, _), result in zip(instances, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("closing provider %s failed: %s", name, result)
