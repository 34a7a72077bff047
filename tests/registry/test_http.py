"""HTTP API for the registry and keys: roles, 404 naming what exists, 422 with every problem."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from promptyard.runtime import Runtime
from promptyard.server.app import create_app
from tests.registry.helpers import REPO, make_settings


@pytest.fixture
def rt(tmp_path: Path, sqlite_url: str) -> Iterator[Runtime]:
    runtime = Runtime(make_settings(tmp_path, sqlite_url))
    folder = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", folder)
    runtime.registry.sync(folder, actor="alice")
    runtime.registry.set_label("summarize_email", "production", "1.0.0", actor="alice")
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt)) as c:
        yield c


def auth(rt: Runtime, role: str, name: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {rt.keys.create(name or f'{role}-key', role).secret}"}


def test_no_key_is_401_and_wrong_role_is_403(client: TestClient, rt: Runtime) -> None:
    missing = client.get("/v1/prompts")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/prompts", headers={"Authorization": "Bearer py_nope_nope"}).status_code == 401

    viewer = auth(rt, "viewer")
    body = {"label": "production", "variables": {"email_body": "hi"}}
    assert client.post("/v1/prompts/summarize_email/render", json=body, headers=viewer).status_code == 403
    app_key = auth(rt, "app")
    move = client.put("/v1/prompts/summarize_email/labels/production", json={"version": "1.1.0"}, headers=app_key)
    assert move.status_code == 403
    assert move.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/keys", headers=app_key).status_code == 403
    assert client.get("/healthz").status_code == 200  # public


def test_list_and_read(client: TestClient, rt: Runtime) -> None:
    viewer = auth(rt, "viewer")
    listed = client.get("/v1/prompts", headers=viewer).json()
    by_name = {p["name"]: p for p in listed}
    assert set(by_name) >= {"classify_ticket", "rag_answer", "summarize_email", "support_assistant"}
    assert by_name["summarize_email"]["versions"] == ["1.0.0", "1.1.0"]
    assert by_name["summarize_email"]["labels"] == {"production": "1.0.0"}

    detail = client.get("/v1/prompts/summarize_email", headers=viewer).json()
    assert [v["version"] for v in detail["versions"]] == ["1.0.0", "1.1.0"]
    assert detail["labels"][0]["label"] == "production"

    version = client.get("/v1/prompts/summarize_email/versions/1.1.0", headers=viewer).json()
    assert version["spec"]["version"] == "1.1.0"
    assert len(version["content_hash"]) == 64
    assert version["source"].startswith("---")

    label = client.get("/v1/prompts/summarize_email/labels/production", headers=viewer).json()
    assert label["label"]["version"] == "1.0.0"
    assert label["prompt"]["version"] == "1.0.0"


def test_unknown_things_are_404_naming_what_exists(client: TestClient, rt: Runtime) -> None:
    viewer = auth(rt, "viewer")
    unknown = client.get("/v1/prompts/summarise_email", headers=viewer)
    assert unknown.status_code == 404
    assert "summarize_email" in unknown.json()["error"]["available"]
    version = client.get("/v1/prompts/summarize_email/versions/2.0.0", headers=viewer)
    assert version.status_code == 404
    assert version.json()["error"]["available"] == ["1.0.0", "1.1.0"]
    label = client.get("/v1/prompts/summarize_email/labels/canary", headers=viewer)
    assert label.status_code == 404
    assert label.json()["error"]["available"] == ["production -> 1.0.0"]
    app_key = auth(rt, "app")
    render = client.post("/v1/prompts/nope/render", json={"version": "1.0.0"}, headers=app_key)
    assert render.status_code == 404
    assert "rag_answer" in render.json()["error"]["available"]


def test_render_returns_messages_and_cache_marks(client: TestClient, rt: Runtime) -> None:
    app_key = auth(rt, "app")
    email = "Bonjour, pouvez-vous envoyer le rapport d'ici vendredi ? Merci — Zoë ✓"
    res = client.post(
        "/v1/prompts/summarize_email/render",
        json={"label": "production", "variables": {"email_body": email}},
        headers=app_key,
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["name"], body["version"]) == ("summarize_email", "1.0.0")
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert email in body["messages"][-1]["content"]  # non-ASCII unchanged
    assert body["cache_marks"] == [{"index": 1, "ttl": "1h"}]


def test_render_with_bad_variables_is_422_listing_every_problem(client: TestClient, rt: Runtime) -> None:
    app_key = auth(rt, "app")
    res = client.post(
        "/v1/prompts/summarize_email/render",
        json={"version": "1.1.0", "variables": {"max_bullets": "three", "colour": "red"}},
        headers=app_key,
    )
    assert res.status_code == 422
    problems = res.json()["error"]["problems"]
    text = " ".join(problems)
    assert "email_body" in text
    assert "max_bullets" in text
    assert "colour" in text
    assert len(problems) >= 3


def test_render_needs_exactly_one_of_version_or_label(client: TestClient, rt: Runtime) -> None:
    app_key = auth(rt, "app")
    res = client.post("/v1/prompts/summarize_email/render", json={"variables": {}}, headers=app_key)
    assert res.status_code == 422
    assert "no implicit" in res.json()["error"]["hint"]


def test_label_move_rollback_and_history_record_the_key_name(client: TestClient, rt: Runtime) -> None:
    admin = auth(rt, "admin", name="release-bot")
    moved = client.put(
        "/v1/prompts/summarize_email/labels/production", json={"version": "1.1.0", "reason": "v2"}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["from_version"], moved.json()["to_version"]) == ("1.0.0", "1.1.0")
    back = client.post("/v1/prompts/summarize_email/labels/production/rollback", json={"reason": "bad"}, headers=admin)
    assert back.status_code == 200
    assert back.json()["to_version"] == "1.0.0"
    assert rt.registry.resolve("summarize_email", label="production").version == "1.0.0"

    history = client.get("/v1/prompts/summarize_email/history", headers=auth(rt, "viewer")).json()
    assert [(h["kind"], h["action"], h["from_version"], h["to_version"], h["actor"]) for h in history] == [
        ("label", "set", None, "1.0.0", "alice"),
        ("label", "set", "1.0.0", "1.1.0", "release-bot"),
        ("label", "rollback", "1.1.0", "1.0.0", "release-bot"),
    ]
    bad = client.put("/v1/prompts/summarize_email/labels/production", json={"version": "7.0.0"}, headers=admin)
    assert bad.status_code == 404
    assert bad.json()["error"]["available"] == ["1.0.0", "1.1.0"]


def test_review_over_http_refuses_self_approval(client: TestClient, rt: Runtime) -> None:
    alice = auth(rt, "admin", name="alice")  # alice synced the prompts: she is the author
    bob = auth(rt, "admin", name="bob")
    url = "/v1/prompts/classify_ticket/versions/1.0.0"
    assert client.post(f"{url}/review", json={"action": "submit"}, headers=alice).status_code == 200
    self_approve = client.post(f"{url}/review", json={"action": "approve"}, headers=alice)
    assert self_approve.status_code == 409
    assert "self-approval" in self_approve.json()["error"]["message"]
    assert client.post(f"{url}/review", json={"action": "approve"}, headers=bob).status_code == 200
    released = client.post(f"{url}/release", json={"label": "production"}, headers=bob)
    assert released.status_code == 200
    assert rt.registry.get("classify_ticket", "1.0.0").status == "released"


def test_keys_endpoints(client: TestClient, rt: Runtime) -> None:
    admin = auth(rt, "admin")
    created = client.post("/v1/keys", json={"name": "svc", "role": "viewer"}, headers=admin)
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert client.get("/v1/prompts", headers={"X-API-Key": secret}).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()
    assert "svc" in [k["name"] for k in listed]
    assert all("secret" not in k and "key_hash" not in k for k in listed)
    bad_role = client.post("/v1/keys", json={"name": "x", "role": "root"}, headers=admin)
    assert bad_role.status_code == 422
    key_id = created.json()["key"]["key_id"]
    assert client.delete(f"/v1/keys/{key_id}", headers=admin).status_code == 200
    rt.keys._memo.clear()  # revocation takes effect after the short verification memo
    assert client.get("/v1/prompts", headers={"X-API-Key": secret}).status_code == 401
