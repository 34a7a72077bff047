"""Build pydantic records from values that typed code already produced, without validation.

``Model.model_construct`` is a Python loop over every field with alias handling; for the
50-field :class:`~promptyard.tracing.model.Trace` it costs as much as validating it. On the
request path the gateway builds a trace, a result and a provider request per call, all
from values that are already of the right type, so it uses :class:`Constructor`: the
same effect as ``model_construct`` (fields set, defaults filled, fresh containers from
default factories) at the cost of a dict copy. It refuses models it cannot build that
way (aliases, ``extra="allow"``, post-init hooks, private attributes), so a change to
such a model fails loudly at import, not silently at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_object_setattr = object.__setattr__


class Constructor(Generic[M]):
    def __init__(self, cls: type[M]) -> None:
        if cls.model_config.get("extra") == "allow" or cls.__pydantic_post_init__ or cls.__private_attributes__:
            raise TypeError(f"{cls.__name__}: extra='allow', post-init or private attributes need model_construct")
        self.cls = cls
        self._template: dict[str, Any] = {}
        self._factories: list[tuple[str, Callable[[], Any]]] = []
        self._required: list[str] = []
        for name, field in cls.model_fields.items():
            if field.alias is not None or field.validation_alias is not None:
                raise TypeError(f"{cls.__name__}.{name} has an alias: use model_construct")
            if field.default_factory is not None:
                if field.default_factory_takes_validated_data:
                    raise TypeError(f"{cls.__name__}.{name}: a default factory taking data needs model_construct")
                self._factories.append((name, field.default_factory))  # type: ignore[arg-type]
                self._template[name] = None
            elif field.is_required():
                self._required.append(name)
                self._template[name] = None
            else:
                self._template[name] = field.default

    def __call__(self, **values: Any) -> M:
        data = self._template.copy()
        data.update(values)
        for name, factory in self._factories:
            if name not in values:
                data[name] = factory()
        obj = self.cls.__new__(self.cls)
        _object_setattr(obj, "__dict__", data)
        _object_setattr(obj, "__pydantic_fields_set__", set(values))
        _object_setattr(obj, "__pydantic_extra__", None)
        _object_setattr(obj, "__pydantic_private__", None)
        return obj
