"""What the browser tests share: Debian's Chromium driven by Playwright, screenshots in
test-artifacts/screenshots/, and waiting on the page without eval."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import REPO
from playwright.sync_api import expect, sync_playwright
from server_support import ARTIFACTS, PASSWORDS

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]
SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def wait_until(page, predicate: str, seconds: float = 30) -> None:
    """Poll a predicate by page.evaluate (DevTools evaluation, which the page's CSP allows;
    wait_for_function compiles it with eval in the page, which the CSP rightly forbids)."""
    end = time.monotonic() + seconds
    while not page.evaluate(predicate):
        assert time.monotonic() < end, f"not true after {seconds} s: {predicate}"
        page.wait_for_timeout(100)


AXE = REPO / "tests" / "vendor" / "axe-core" / "axe.min.js"


def axe_problems(page) -> list[dict]:
    """The serious and critical problems axe-core finds on the page as it is now (run
    through the DevTools protocol, so the page's own CSP is left as it is)."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text() + "\n;void 0")
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")


@pytest.fixture
def outside():
    """Requests to anywhere but the server, and CSP refusals, across a test."""
    return {"elsewhere": [], "refused": []}


def signed_in_page(browser, server, outside, **context):
    """A new page signed in as alice, recording into `outside` every request to another
    host and every refusal by the page's Content-Security-Policy."""
    page = browser.new_context(base_url=server.url, **context).new_page()
    page.on("request", lambda request: None if request.url.startswith(server.url)
            else outside["elsewhere"].append(request.url))
    page.on("console", lambda message: outside["refused"].append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto("/login")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORDS["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Photos")).to_be_visible()
    return page
