"""The workspace in a real headless Chromium (Debian's, driven by Playwright for Python).

One walk-through: view a prompt, compare two versions in the playground, propose a change
(keyboard only), see lint, submit, fail to approve it as its author, approve it as a second
admin, release it, roll back, see it read-only as a viewer; then a trace whose variable is
``<script>alert(1)</script>`` shows as text and fires no dialog.
Screenshots of every step land in ``.artifacts/workspace-browser/`` (gitignored).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from promptyard.server.app import create_app
from promptyard.tracing.model import StageLatencies, Trace

from .conftest import Workspace
from .test_pages import XSS, seed_traces

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "workspace-browser"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: run `make browser`"),
]


@pytest.fixture
def served(ws: Workspace) -> Iterator[str]:
    config = uvicorn.Config(create_app(ws.rt), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start within 20 s"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_view_edit_review_release_and_roll_back_in_a_browser(ws: Workspace, served: str) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    base = served
    xss = Trace(
        timestamp=datetime.now(UTC),
        prompt_name="greet",
        prompt_version="1.0.0",
        inputs={"who": XSS},
        answer=f"Hello {XSS}",
        provider="fake",
        model="greeter",
        latency=StageLatencies(total_ms=50.0),
    )
    seed_traces(ws, [xss])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    dialogs: list[str] = []
    shots: list[Path] = []

    def watch(page: Page) -> None:
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def shot(page: Page, name: str) -> None:
        path = ARTIFACTS / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            alice = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            watch(alice)
            alice.goto(f"{base}/admin/prompts?key={ws.keys['alice']}")
            assert alice.url == f"{base}/admin/prompts"  # the key moved into a cookie
            expect(alice.locator("#prompt-list")).to_contain_text("greet")
            shot(alice, "prompts")

            alice.get_by_role("link", name="greet", exact=True).click()
            expect(alice.locator("#labels tr[data-label='production'] .label-version")).to_have_text("1.0.0")
            expect(alice.locator("#template mark.var").first).to_have_text("{{ who }}")
            shot(alice, "prompt")

            alice.get_by_role("link", name="Playground").click()
            alice.get_by_label("Compare with (same inputs)").select_option("1.1.0")
            alice.get_by_label("who", exact=False).first.fill("Ada")
            alice.locator("#run").click()
            expect(alice.locator(".outcome")).to_have_count(2)
            answer = ".outcome[data-version='{}'] .answer"
            expect(alice.locator(answer.format("1.1.0"))).to_have_text("echo: Warmly greet Ada, 1 time(s).")
            expect(alice.locator(answer.format("1.0.0"))).to_have_text("echo: Say hello to Ada, 1 time(s).")
            shot(alice, "playground-compare")
            alice.get_by_role("link", name="greet", exact=True).click()

            # Keyboard only: focus the link, press Enter.
            alice.locator("#edit-link").focus()
            alice.keyboard.press("Enter")
            alice.wait_for_url("**/edit?from=1.1.0")
            editor = alice.get_by_label("Prompt file")
            assert "version: 1.1.1" in editor.input_value()
            expect(alice.locator("#lint-status")).to_have_text("No lint issues.")
            text = editor.input_value().replace("Warmly greet", "Kindly greet").replace("[cache-breakpoint]\n", "")
            editor.fill(text)
            expect(alice.locator("#lint-issues [data-code='missing-cache-breakpoint']")).to_be_visible()
            shot(alice, "edit-with-lint")
            editor.fill(text.replace("[user]", "[cache-breakpoint]\n\n[user]"))
            expect(alice.locator("#lint-status")).to_have_text("No lint issues.")
            alice.get_by_label("Note for the reviewer (when submitting)").fill("kinder wording")
            alice.locator("#save-submit").focus()
            alice.keyboard.press("Enter")
            expect(alice.locator("#notice")).to_contain_text("1.1.1 was submitted for review")
            expect(alice.locator("#version-status")).to_have_text("in_review")
            shot(alice, "submitted")

            alice.locator("#approve").click()
            expect(alice.locator("#ws-error")).to_contain_text("self-approval refused: alice authored greet@1.1.1")
            shot(alice, "self-approval-refused")

            bob = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            watch(bob)
            bob.goto(f"{base}/admin/prompts/greet?v=1.1.1&key={ws.keys['bob']}")
            bob.get_by_label("Comment").fill("LGTM")
            bob.get_by_label("Comment").press("Tab")  # keyboard: from the comment to Approve
            expect(bob.locator("#approve")).to_be_focused()
            bob.keyboard.press("Enter")
            expect(bob.locator("#notice")).to_contain_text("1.1.1 was approved")
            shot(bob, "approved-by-second-admin")

            bob.get_by_label("Label to move to 1.1.1").select_option("production")
            bob.locator("#release").click()
            expect(bob.locator("#notice")).to_contain_text("1.1.1 was released")
            expect(bob.locator("#labels tr[data-label='production'] .label-version")).to_have_text("1.1.1")
            shot(bob, "released")

            bob.get_by_label("Reason for rolling back production").fill("tone regressed")
            bob.locator("#rollback-production").click()
            expect(bob.locator("#notice")).to_contain_text("points at 1.0.0 again")
            expect(bob.locator("#labels tr[data-label='production'] .label-version")).to_have_text("1.0.0")
            expect(bob.locator("#history")).to_contain_text("tone regressed")
            shot(bob, "rolled-back")

            vera = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            watch(vera)
            vera.goto(f"{base}/admin/prompts/greet?key={ws.keys['vera']}")
            expect(vera.locator("#versions")).to_contain_text("1.1.1")
            expect(vera.locator("#edit-link")).to_have_count(0)
            expect(vera.locator("#rollback-production")).to_have_count(0)
            shot(vera, "viewer-read-only")

            bob.goto(f"{base}/admin/traces?q=script")
            bob.locator(f"a[href='/admin/traces/{xss.trace_id}']").click()
            expect(bob.locator("#rendered-messages")).to_contain_text(f"Say hello to {XSS}")
            expect(bob.locator("#answer")).to_have_text(f"Hello {XSS}")
            expect(bob.locator("#inputs")).to_contain_text(XSS)
            assert bob.evaluate("() => document.querySelectorAll('main script').length") == 0
            shot(bob, "trace-escaped")
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    assert dialogs == []  # <script>alert(1)</script> never ran
    # The only failed load is the refused self-approval (409), shown as a page; nothing else.
    assert [m for m in problems if "status of 409" not in m] == []  # no script errors, no CSP violations
    assert len(problems) == 1
    assert ws.rt.registry.label("greet", "production").version == "1.0.0"
    assert [s.name for s in shots] == [
        "01-prompts.png",
        "02-prompt.png",
        "03-playground-compare.png",
        "04-edit-with-lint.png",
        "05-submitted.png",
        "06-self-approval-refused.png",
        "07-approved-by-second-admin.png",
        "08-released.png",
        "09-rolled-back.png",
        "10-viewer-read-only.png",
        "11-trace-escaped.png",
    ]
    assert all(s.stat().st_size > 10_000 for s in shots)
    print(f"walk-through: {elapsed:.1f} s, {len(shots)} screenshots in {ARTIFACTS}")
