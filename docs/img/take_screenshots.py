"""Re-take the screenshots of docs/developers.md in headless Chromium.

    .venv/bin/python docs/img/take_screenshots.py

Serves the application on a loopback port with a throw-away test database (as the tests
do), and, while the ``$validate`` operation is not registered on this branch, with the
tests' adapter over the real validator (tests/web/stand_in_validate.py).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fhirsrv.app import create_app  # noqa: E402
from fhirsrv.config import Settings  # noqa: E402
from tests.pg import test_database  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web.stand_in_validate import installed  # noqa: E402

OUT = Path(__file__).resolve().parent


def shoot(site: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.goto(f"{site}/validator")
        page.select_option("#profile", "ips")
        page.click("#load-example")  # warm-up: the first call loads and compiles the definitions
        page.wait_for_function("() => /^Valid —/.test(document.getElementById('verdict').textContent)",
                               timeout=300000)
        page.select_option("#example", "ips-2.0-broken.json")
        page.click("#load-example")
        page.wait_for_function("() => /^Not valid/.test(document.getElementById('verdict').textContent)",
                               timeout=300000)
        page.click("button.issue:has(code.path:text('entry[1].resource.gender'))")
        page.screenshot(path=OUT / "validator-invalid.png")
        page.select_option("#example", "ips-2.0-minimal.json")
        page.click("#load-example")
        page.wait_for_function("() => /^Valid —/.test(document.getElementById('verdict').textContent)")
        page.screenshot(path=OUT / "validator-valid.png")
        page.goto(f"{site}/docs")
        page.wait_for_selector(".opblock", timeout=120000)
        page.screenshot(path=OUT / "api-docs.png")
        browser.close()


def main() -> None:
    with test_database() as conninfo, installed():
        app = create_app(Settings.from_env().with_(database_url=conninfo), conninfo=conninfo)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            app.extensions["fhirsrv"].close()
    print("wrote", ", ".join(p.name for p in sorted(OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
