"""A real headless Chromium (Debian's ``chromium``) driven by Playwright, for the page tests.

No browser is downloaded: Playwright launches /usr/bin/chromium. Without it the page tests
are skipped with the reason; ``.ci/run`` installs it so that CI always runs them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FHIRSRV_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the page tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with tempfile.TemporaryDirectory(prefix="fhirsrv-chromium-") as profile, sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1400, "height": 900},
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield context
        context.close()


@pytest.fixture()
def page(browser) -> Iterator[object]:
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def site_url(base_url: str) -> str:
    """The server root (the pages), beside the FHIR base."""
    return base_url.rsplit("/fhir", 1)[0]
