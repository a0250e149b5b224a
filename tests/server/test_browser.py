"""In a real browser (Playwright driving Debian's Chromium): sign in, open the run, read the plan,
press Confirm & Apply, watch the log stream, see ``applied``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from relight.providers.registry import ProviderRegistry
from tests.server.conftest import Live
from tests.server.slow_server import SlowProvider

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Root in a container: no user namespaces for Chromium's sandbox, and a small /dev/shm.
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed "
                                "(apt-get install chromium; .ci/run does it)")


def test_sign_in_confirm_and_watch_the_apply(make_live: Callable[..., Live], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect, sync_playwright

    cloud = tmp_path / "cloud"
    cloud.mkdir()
    monkeypatch.setenv("SLOW_CLOUD", str(cloud))
    monkeypatch.setenv("SLOW_DELAY", "1.0")
    live = make_live(registry=ProviderRegistry({"slow": SlowProvider}))
    alice = live.token("alice")
    head = live.repo.commit({"infra/main.tf": 'resource "slow_thing" "web" {\n  count = 2\n  name = "w${count.index}"\n}\n'
                             'resource "terraform_data" "after" {\n  input = slow_thing.web[0].id\n}\n'}, "slow")
    run_id = live.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live.url}/runs/{run_id}")
            expect(page).to_have_url(f"{live.url}/login?next=/runs/{run_id}")
            page.get_by_role("link", name="Sign in with GitHub").click()  # the stand-in GitHub says "alice"
            expect(page).to_have_url(f"{live.url}/runs/{run_id}")
            expect(page.locator("#status")).to_have_text("planned")
            plan = page.locator("#plan")
            expect(plan).to_contain_text("slow_thing.web[0] will be created")
            expect(plan).to_contain_text("Plan: 3 to add, 0 to change, 0 to destroy.")
            assert "add" in (plan.locator("span").first.get_attribute("class") or "")
            page.get_by_role("button", name="Confirm & Apply").click()
            # The log streams while the apply runs, before it is over.
            expect(page.locator("#log")).to_contain_text("slow_thing.web[0]: Creating...", timeout=20_000)
            expect(page.locator("#status")).to_have_text("applied", timeout=30_000)
            expect(page.locator("#log")).to_contain_text("terraform_data.after: Creation complete")
            expect(page.get_by_role("button", name="Confirm & Apply")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "run.png"), full_page=True)
            page.goto(f"{live.url}/audit")
            expect(page.locator("table")).to_contain_text("confirm")
            page.screenshot(path=str(tmp_path / "audit.png"))
        finally:
            browser.close()
