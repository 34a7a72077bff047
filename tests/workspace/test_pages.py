"""The workspace over HTTP: roles, the draft/review/release flow, conflicts, playground, traces, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

from promptyard.evals.model import RunConfig
from promptyard.evals.runs import RunStore
from promptyard.rag.models import Hit
from promptyard.testing import FakeProvider, reply
from promptyard.tracing.files import trace_dir
from promptyard.tracing.model import Candidate, StageLatencies, Trace
from promptyard.tracing.sinks.jsonl import JsonlSink
from promptyard.tracing.sinks.sql import SqlSink

from .conftest import Workspace, greet_file, write_prompt

XSS = "<script>alert(1)</script>"


def _trace(**kw: object) -> Trace:
    base: dict[str, object] = {
        "timestamp": datetime.now(UTC),
        "prompt_name": "greet",
        "prompt_version": "1.0.0",
        "inputs": {"who": "Ada"},
        "provider": "fake",
        "model": "greeter",
        "cost_usd": 0.01,
        "answer": "Hello, Ada!",
        "latency": StageLatencies(total_ms=100.0, generate_ms=90.0),
    }
    return Trace(**(base | kw))  # type: ignore[arg-type]


def seed_traces(ws: Workspace, traces: list[Trace]) -> None:
    SqlSink(ws.rt.db).write(traces)
    sink = JsonlSink(trace_dir(ws.rt.settings.home))
    sink.write(traces)
    sink.close()


def _draft(ws: Workspace, who: str, version: str = "1.1.1", base: str = "1.1.0", submit: bool = False) -> int:
    form = {"base": base, "text": greet_file(version, "Cheerfully greet", "Cheerier.")}
    if submit:
        form["submit"] = "1"
    with ws.client() as c:
        return c.post("/admin/prompts/greet/drafts", data=form, headers=ws.auth(who)).status_code


def test_viewer_browses_every_page_but_cannot_edit(ws: Workspace) -> None:
    with ws.client() as c:
        h = ws.auth("vera")
        for url in (
            "/admin/prompts",
            "/admin/prompts/greet",
            "/admin/prompts/greet?v=1.0.0",
            "/admin/prompts/greet/diff?a=1.0.0&b=1.1.0",
            "/admin/prompts/greet/playground",
            "/admin/traces?prompt=greet",
        ):
            assert c.get(url, headers=h).status_code == 200, url
        page = c.get("/admin/prompts/greet", headers=h).text
        assert 'id="edit-link"' not in page
        assert 'id="release"' not in page
        assert 'id="rollback-production"' not in page
        assert c.get("/admin/prompts/greet/edit", headers=h).status_code == 403
        assert _draft(ws, "vera") == 403
        run = c.post("/admin/prompts/greet/playground", data={"version": "1.0.0", "var.who": "x"}, headers=h)
        assert run.status_code == 403
        export = c.get("/admin/prompts/greet/versions/1.1.0/export", headers=h)
        assert export.status_code == 200
        assert export.text == ws.rt.registry.get("greet", "1.1.0").source
    assert [v.version for v in ws.rt.registry.versions("greet")] == ["1.0.0", "1.1.0"]


def test_app_key_proposes_and_submits_but_cannot_approve_or_release(ws: Workspace) -> None:
    assert _draft(ws, "app", submit=True) == 303
    assert ws.rt.registry.get("greet", "1.1.1").status == "in_review"
    assert ws.rt.registry.get("greet", "1.1.1").author == "app"
    with ws.client() as c:
        h = ws.auth("app")
        approve = c.post("/admin/prompts/greet/versions/1.1.1/review", data={"action": "approve"}, headers=h)
        assert approve.status_code == 403
        release = c.post("/admin/prompts/greet/versions/1.1.0/release", data={"label": "production"}, headers=h)
        assert release.status_code == 403
        assert "admin" in release.text
        rollback = c.post("/admin/prompts/greet/labels/production/rollback", headers=h)
        assert rollback.status_code == 403
    assert ws.rt.registry.label("greet", "production").version == "1.0.0"


def test_author_cannot_approve_their_own_draft_and_another_admin_can(ws: Workspace) -> None:
    assert _draft(ws, "alice", submit=True) == 303
    with ws.client() as c:
        mine = c.post(
            "/admin/prompts/greet/versions/1.1.1/review", data={"action": "approve"}, headers=ws.auth("alice")
        )
        assert mine.status_code == 409
        assert "self-approval refused: alice authored greet@1.1.1" in mine.text
        assert ws.rt.registry.get("greet", "1.1.1").status == "in_review"
        ok = c.post(
            "/admin/prompts/greet/versions/1.1.1/review",
            data={"action": "approve", "comment": "Looks good & <b>kind</b>"},
            headers=ws.auth("bob"),
        )
        assert ok.status_code == 303
        assert ok.headers["location"] == "/admin/prompts/greet?v=1.1.1&done=approve"
        page = c.get(ok.headers["location"], headers=ws.auth("bob")).text
        assert "was approved" in page
        assert "Looks good &amp; &lt;b&gt;kind&lt;/b&gt;" in page  # the comment is escaped
        released = c.post(
            "/admin/prompts/greet/versions/1.1.1/release", data={"label": "production"}, headers=ws.auth("bob")
        )
        assert released.status_code == 303
        assert ws.rt.registry.label("greet", "production").version == "1.1.1"
        assert ws.rt.registry.get("greet", "1.1.1").status == "released"
        back = c.post(
            "/admin/prompts/greet/labels/production/rollback", data={"reason": "oops"}, headers=ws.auth("bob")
        )
        assert back.status_code == 303
    assert ws.rt.registry.label("greet", "production").version == "1.0.0"


def test_rejection_sends_the_draft_back_with_the_comment(ws: Workspace) -> None:
    assert _draft(ws, "alice", submit=True) == 303
    with ws.client() as c:
        r = c.post(
            "/admin/prompts/greet/versions/1.1.1/review",
            data={"action": "reject", "comment": "too cheerful"},
            headers=ws.auth("bob"),
        )
        assert r.status_code == 303
        page = c.get("/admin/prompts/greet?v=1.1.1", headers=ws.auth("vera")).text
    assert ws.rt.registry.get("greet", "1.1.1").status == "draft"
    assert "too cheerful" in page


def test_a_draft_behind_a_newer_version_or_file_is_refused(ws: Workspace) -> None:
    with ws.client() as c:
        stale = c.post(
            "/admin/prompts/greet/drafts",
            data={"base": "1.0.0", "text": greet_file("1.0.1")},
            headers=ws.auth("app"),
        )
        assert stale.status_code == 409
        assert "greet@1.1.0 is newer than the version you edited (1.0.0)" in stale.text
        assert "Cheer" not in stale.text
        assert "1.0.1" in stale.text
        taken = c.post(
            "/admin/prompts/greet/drafts", data={"base": "1.1.0", "text": greet_file("1.1.0")}, headers=ws.auth("app")
        )
        assert taken.status_code == 409
        assert "already exists" in taken.text
        # A change made in the files (not synced yet) wins over the browser.
        write_prompt(ws.prompts_dir, "1.2.0", greet_file("1.2.0", "Hi"))
        newer_file = c.post(
            "/admin/prompts/greet/drafts", data={"base": "1.1.0", "text": greet_file("1.1.1")}, headers=ws.auth("app")
        )
        assert newer_file.status_code == 409
        assert "1.2.0.prompt" in newer_file.text
        assert "files are the source of truth" in newer_file.text
        broken = c.post(
            "/admin/prompts/greet/drafts",
            data={"base": "1.1.0", "text": greet_file("1.1.1").replace("{{ who }}", "{{ whom }}")},
            headers=ws.auth("app"),
        )
        assert broken.status_code == 422
        assert "whom" in broken.text
    assert [v.version for v in ws.rt.registry.versions("greet")] == ["1.0.0", "1.1.0"]


def test_an_exported_draft_syncs_as_a_no_op(ws: Workspace) -> None:
    assert _draft(ws, "app") == 303
    with ws.client() as c:
        exported = c.get("/admin/prompts/greet/versions/1.1.1/export", headers=ws.auth("vera"))
    assert exported.headers["content-disposition"] == 'attachment; filename="1.1.1.prompt"'
    write_prompt(ws.prompts_dir, "1.1.1", exported.text)
    report = ws.rt.registry.sync(ws.prompts_dir, actor="ci")
    assert report.added == []
    assert "greet@1.1.1" in report.unchanged


def test_editor_suggests_the_next_version_and_lint_endpoint_reports(ws: Workspace) -> None:
    with ws.client() as c:
        page = c.get("/admin/prompts/greet/edit", headers=ws.auth("app")).text
        assert "version: 1.1.1" in page
        bad = greet_file("1.1.1").replace("[cache-breakpoint]\n", "").replace("{{ times }}", "")
        lint = c.post("/admin/prompts/lint", json={"text": bad}, headers=ws.auth("vera")).json()
        codes = {i["code"] for i in lint["issues"]}
        assert {"missing-cache-breakpoint", "unused-variable"} <= codes
        unparsable = c.post("/admin/prompts/lint", json={"text": "no front matter"}, headers=ws.auth("vera"))
        assert unparsable.json()["issues"][0]["code"] == "parse"
        junk = c.post("/admin/prompts/lint", content=b"{not json", headers=ws.auth("vera"))
        assert junk.status_code == 422
        anonymous = c.post("/admin/prompts/lint", json={"text": bad})
        assert anonymous.status_code == 401


def test_cross_site_form_posts_are_refused(ws: Workspace) -> None:
    with ws.client() as c:
        r = c.post(
            "/admin/prompts/greet/labels/production/rollback",
            headers=ws.auth("bob") | {"Origin": "https://evil.example"},
        )
    assert r.status_code == 403
    assert ws.rt.registry.label("greet", "production").version == "1.0.0"


def test_list_and_prompt_pages_show_traffic_labels_and_highlighted_variables(ws: Workspace) -> None:
    seed_traces(
        ws,
        [_trace(cost_usd=0.25), _trace(cost_usd=0.25, status="error"), _trace(prompt_version="1.1.0", cost_usd=0.5)],
    )
    with ws.client() as c:
        listing = c.get("/admin/prompts", headers=ws.auth("vera")).text
        page = c.get("/admin/prompts/greet?v=1.1.0", headers=ws.auth("vera")).text
    row = re.search(r"\?v=1\.0\.0\">1\.0\.0</a></td>.*?</tr>", listing, re.DOTALL)
    assert row is not None
    assert "released" in row.group(0)
    assert ">2<" in row.group(0)
    assert "50.0%" in row.group(0)
    assert "$0.5000" in row.group(0)
    assert '<span class="badge label">production</span>' in listing
    assert '<mark class="var" title="variable who">{{ who }}</mark>' in page
    assert "Warmly greet" in page
    assert "cache breakpoint" in page


def test_diff_page_shows_both_versions_side_by_side(ws: Workspace) -> None:
    with ws.client() as c:
        page = c.get("/admin/prompts/greet/diff?a=1.1.0&b=1.0.0", headers=ws.auth("vera")).text
    assert "1.0.0 → 1.1.0" in page  # ordered oldest first
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', page, re.DOTALL)
    assert any("Say hello to" in r and "Warmly greet" in r for r in changed)
    assert "changelog" in page
    assert "No completed eval run" in page


def test_playground_runs_one_version_or_compares_two_on_the_same_inputs(ws: Workspace, fake: FakeProvider) -> None:
    fake.script(reply("Hi Ada [doc-1]"), reply("Hello Ada"))
    with ws.client() as c:
        r = c.post(
            "/admin/prompts/greet/playground",
            data={"version": "1.1.0", "compare": "1.0.0", "var.who": "Ada", "var.times": "2"},
            headers=ws.auth("app"),
        )
    assert r.status_code == 200
    assert r.text.count('class="card outcome"') == 2
    assert "Hi Ada [doc-1]" in r.text
    assert "Hello Ada" in r.text
    assert "<code>doc-1</code>" in r.text
    assert "latency" in r.text
    assert "cost $" in r.text
    sent = [request.messages[-1].content for request in fake.requests]
    assert sorted(sent) == ["Say hello to Ada, 2 time(s).", "Warmly greet Ada, 2 time(s)."]
    with ws.client() as c:
        bad = c.post(
            "/admin/prompts/greet/playground", data={"version": "1.1.0", "var.times": "two"}, headers=ws.auth("app")
        )
    assert bad.status_code == 422
    assert "times: not a valid integer" in bad.text


def test_playground_prefills_from_a_trace(ws: Workspace) -> None:
    t = _trace(inputs={"who": "Grace", "times": 3})
    seed_traces(ws, [t])
    with ws.client() as c:
        page = c.get(f"/admin/prompts/greet/playground?trace={t.trace_id}", headers=ws.auth("vera")).text
    assert ">Grace</textarea>" in page
    assert 'value="3"' in page


def test_traces_search_by_text_version_and_status(ws: Workspace) -> None:
    a = _trace(inputs={"who": "Marie Curie"}, prompt_version="1.1.0")
    b = _trace(status="error", error_type="ProviderTimeout", error_message="took too long")
    c_ = _trace()
    seed_traces(ws, [a, b, c_])
    with ws.client() as c:
        h = ws.auth("vera")

        def ids(query: str) -> set[str]:
            return {t["trace_id"] for t in c.get(f"/admin/traces.json?{query}", headers=h).json()["traces"]}

        assert ids("q=marie+curie") == {a.trace_id}
        assert ids("q=too+long") == {b.trace_id}
        assert ids("version=1.1.0") == {a.trace_id}
        assert ids("status=error&prompt=greet") == {b.trace_id}
        assert ids("q=nobody") == set()
        page = c.get("/admin/traces?q=marie", headers=h).text
        assert a.trace_id in page
        assert c_.trace_id not in page


def test_trace_page_escapes_user_text_and_shows_rendered_messages(ws: Workspace) -> None:
    t = _trace(inputs={"who": XSS}, answer=XSS, end_user=XSS)
    seed_traces(ws, [t])
    with ws.client() as c:
        page = c.get(f"/admin/traces/{t.trace_id}", headers=ws.auth("vera")).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="rendered-messages"' in page
    assert "Say hello to &lt;script&gt;" in page
    assert 'id="pipeline"' in page


def test_unknown_prompts_and_versions_answer_404_naming_what_exists(ws: Workspace) -> None:
    with ws.client() as c:
        missing = c.get("/admin/prompts/nope", headers=ws.auth("vera"))
        assert missing.status_code == 404
        assert "greet" in missing.text
        version = c.get("/admin/prompts/greet?v=9.9.9", headers=ws.auth("vera"))
        assert version.status_code == 404
        assert "1.1.0" in version.text
        playground = c.get("/admin/prompts/greet/playground", headers=ws.auth("vera")).text
        assert 'id="run"' not in playground
        assert "Running needs an app or admin key" in playground


class _Store:
    def fetch(self, corpus: str, chunk_ids: list[str]) -> dict[str, Hit]:
        assert corpus == "docs"
        return {"c1": Hit(chunk_id="c1", doc_id="d1", score=0.9, title="Refunds", text=f"Refunds take 5 days {XSS}")}


def test_trace_page_shows_the_retrieved_documents_of_a_rag_trace(ws: Workspace) -> None:
    cands = [Candidate(chunk_id=f"c{i}", doc_id=f"d{i}", score=1.0 / (i + 1)) for i in range(3)]
    t = _trace(kind="rag", corpus="docs", reranked=cands, context_chunk_ids=["c1", "c2"], query="refund?")
    seed_traces(ws, [t])
    with ws.client() as c:
        without = c.get(f"/admin/traces/{t.trace_id}", headers=ws.auth("vera")).text
        assert "cannot read corpus &#39;docs&#39;" in without  # no such corpus here: ids only, and why
        assert "<code>d2</code> · chunk <code>c2</code>" in without
        ws.rt.__dict__["rag"] = SimpleNamespace(store=_Store(), close=lambda: None)
        page = c.get(f"/admin/traces/{t.trace_id}", headers=ws.auth("vera")).text
    docs = page[page.index('id="retrieved-docs"') :]
    assert "Refunds take 5 days &lt;script&gt;" in docs
    assert "1 chunk(s) are no longer in corpus &#39;docs&#39;" in docs
    assert "Retrieval · corpus docs" in page


def test_prompt_and_diff_pages_show_each_versions_latest_eval_scores(ws: Workspace) -> None:
    store = RunStore(ws.rt.db)
    for version, f1 in (("1.0.0", 0.5), ("1.0.0", 0.625), ("1.1.0", 0.75)):
        run = store.create(RunConfig(prompt_name="greet", prompt_version=version), total=4, actor="ci")
        metrics = {"f1": {"mean": f1}, "exact_match": {"mean": 0.25}}
        store.finish(run.run_id, aggregates={"metrics": metrics}, report_path=None)
    with ws.client() as c:
        page = c.get("/admin/prompts/greet", headers=ws.auth("vera")).text
        diff = c.get("/admin/prompts/greet/diff?a=1.0.0&b=1.1.0", headers=ws.auth("vera")).text
    versions = page[page.index('id="versions"') :]
    assert '<span class="score">f1 0.625</span>' in versions  # the latest run of 1.0.0, not the first
    assert '<span class="score">f1 0.750</span>' in versions
    assert "f1 0.500" not in versions
    assert "f1 <b>0.625</b>" in diff
    assert "f1 <b>0.750</b>" in diff
