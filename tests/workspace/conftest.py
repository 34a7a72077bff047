"""Workspace fixtures: a runtime with a synced prompt, four keys and the fake provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from promptyard.settings import load_settings
from promptyard.testing import FakeProvider

GREET = """---
name: greet
version: {version}
description: Greet someone by name.
changelog: {changelog}
model: {{provider: fake, model: greeter, temperature: 0.2, max_tokens: 64}}
variables:
  who: {{type: string, description: Who to greet.}}
  times: {{type: integer, required: false, default: 1}}
---
[system]
You are friendly.

[cache-breakpoint]

[user]
{greeting} {{{{ who }}}}, {{{{ times }}}} time(s).
"""


def greet_file(version: str, greeting: str = "Say hello to", changelog: str = "First.") -> str:
    return GREET.format(version=version, greeting=greeting, changelog=changelog)


def write_prompt(prompts_dir: Path, version: str, text: str) -> Path:
    path = prompts_dir / "greet" / f"{version}.prompt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@dataclass
class Workspace:
    rt: Runtime
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def prompts_dir(self) -> Path:
        return Path(self.rt.settings.prompts_dir)

    def client(self) -> TestClient:
        """One app for the whole test (use it in ``with``); pick the caller per request with :meth:`auth`."""
        return TestClient(create_app(self.rt), base_url="http://testserver", follow_redirects=False)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture
def ws(tmp_path: Path, sqlite_url: str, fake: FakeProvider) -> Iterator[Workspace]:
    settings = load_settings(
        home=tmp_path / "home", database_url=sqlite_url, prompts_dir=tmp_path / "prompts", require_review=True
    )
    rt = Runtime(settings)
    write_prompt(settings.prompts_dir, "1.0.0", greet_file("1.0.0"))
    write_prompt(settings.prompts_dir, "1.1.0", greet_file("1.1.0", "Warmly greet", "Warmer."))
    rt.registry.sync(settings.prompts_dir, actor="files")
    for version in ("1.0.0", "1.1.0"):
        rt.registry.review("greet", version, "submit", actor="files")
        rt.registry.review("greet", version, "approve", actor="lead")
    rt.registry.release("greet", "1.0.0", actor="lead")
    workspace = Workspace(rt)
    for name, role in (("vera", "viewer"), ("app", "app"), ("alice", "admin"), ("bob", "admin")):
        workspace.keys[name] = rt.keys.create(name, role).secret
    try:
        yield workspace
    finally:
        close = getattr(rt.__dict__.get("tracer"), "close", None)
        if callable(close):
            close()
        rt.db.dispose()
