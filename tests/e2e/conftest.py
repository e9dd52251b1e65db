"""The browser test's peers: ``scripts/develop --isolated`` and Debian's Chromium.

``stack`` runs the development stack (the emulators and Home Assistant with its frontend) as a
subprocess on free ports and private addresses, in a temporary config, and parses the
instructions it prints: what a person would read to know where to go and what to enter.
``browser`` is Chromium driven by Playwright for Python through ``executable_path``: no
browser is downloaded. A failing test leaves a screenshot and the page's text in
``tests/e2e/artifacts/`` (ignored by git).
"""

import asyncio
from collections.abc import AsyncGenerator, Generator
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import re
import shutil
import tempfile

from playwright.async_api import BrowserContext, async_playwright
import pytest

from tests.test_develop import stop_session

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "develop"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STACK_START_LIMIT = 240.0
"""Seconds for the stack and Home Assistant to come up on a busy two-core machine."""


@dataclass
class Stack:
    """What ``scripts/develop --isolated`` printed."""

    url: str = ""
    config_dir: Path = Path()
    lines: list[str] = field(default_factory=list)

    def find(self, pattern: str) -> re.Match[str]:
        """The first printed line matching ``pattern`` (AssertionError if none does)."""
        for line in self.lines:
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"{pattern!r} not in the instructions:\n" + "\n".join(self.lines))


@pytest.fixture
def auto_enable_custom_integrations() -> None:
    """No Home Assistant in the test process: the stack runs its own."""


@pytest.fixture
async def stack() -> AsyncGenerator[Stack]:
    """The development stack with every emulator, until the test ends."""
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "--isolated",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    found = Stack()
    seen: list[str] = []
    try:
        async with asyncio.timeout(STACK_START_LIMIT):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    raise AssertionError("scripts/develop --isolated ended:\n" + "".join(seen))
                line = raw.decode(errors="replace").rstrip("\n")
                seen.append(line + "\n")
                if match := re.match(r"Home Assistant is up: (http://\S+)", line):
                    found.url = match.group(1)
                elif found.url and (match := re.match(r"  config: (\S+) ", line)):
                    found.config_dir = Path(match.group(1))
                elif found.url and line.strip():
                    found.lines.append(line.strip())
                elif found.url and found.lines:
                    break
        yield found
    finally:
        await stop_session(process, grace=60)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
async def browser(request: pytest.FixtureRequest, stack: Stack) -> AsyncGenerator[BrowserContext]:
    """Chromium with a fresh profile; on failure a screenshot and the text of every page."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup does)")
    with tempfile.TemporaryDirectory(prefix="switchboard-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900},
                locale="en-US",
            )
            context.set_default_timeout(30_000)
            try:
                yield context
            finally:
                report = getattr(request.node, "report_call", None)
                if report is not None and report.failed:
                    await _save_artifacts(context, stack, request.node.name)
                await context.close()


async def _save_artifacts(context: BrowserContext, stack: Stack, name: str) -> None:
    """A screenshot and the visible text of every open page, and Home Assistant's log."""
    ARTIFACTS.mkdir(exist_ok=True)
    for index, page in enumerate(context.pages):
        with contextlib.suppress(Exception):
            await page.screenshot(path=ARTIFACTS / f"{name}-{index}.png", full_page=True)
            text = await page_text(page)
            (ARTIFACTS / f"{name}-{index}.txt").write_text(f"{page.url}\n\n{text}\n")
    log = stack.config_dir / "home-assistant.log"
    with contextlib.suppress(OSError):
        shutil.copy2(log, ARTIFACTS / f"{name}-home-assistant.log")
    print(f"browser test artifacts in {ARTIFACTS}")


DEEP_TEXT = """() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const text = node.textContent.trim();
      if (text) out.push(text);
      return;
    }
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (node.tagName === "STYLE" || node.tagName === "SCRIPT") return;
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden") return;
      if (node.shadowRoot) walk(node.shadowRoot);
    } else if (node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) {
      return;
    }
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return out;
}"""
"""The text a person sees, one string per text node, through the frontend's shadow roots."""


async def page_text(page: object) -> str:
    """What the page shows, one text node per line."""
    lines: list[str] = await page.evaluate(DEEP_TEXT)  # type: ignore[attr-defined]
    return "\n".join(lines)
