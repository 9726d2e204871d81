"""Browser tests: Debian's Chromium (driven by Playwright's Python package) against the app
served by gunicorn on a free 127.0.0.1 port, with a migrated, demo-loaded SQLite file.

Screenshots go to $BAODAO_SCREENSHOTS when it is set (docs/screenshots/ is refreshed with
`BAODAO_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q tests/browser`), else to
a temporary folder.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
PASSWORD = "baodao-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_instance(tmp_path_factory):
    """The served app's instance folder: its SQLite file is `baodao.sqlite3` (tests read it to find
    real demo objects, e.g. tests/browser/test_accessibility.py)."""
    return tmp_path_factory.mktemp("browser-server")


@pytest.fixture(scope="session")
def server(server_instance):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)")
    tmp = server_instance
    env = {**os.environ, "BAODAO_INSTANCE_PATH": str(tmp), "DATABASE_URL": f"sqlite:///{tmp / 'baodao.sqlite3'}",
           "SECRET_KEY": "browser-tests", "BAODAO_UPLOAD_DIR": str(tmp / "uploads"), "WEB_CONCURRENCY": "2"}
    bin_dir = Path(sys.executable).parent
    flask = [str(bin_dir / "flask"), "--app", "wsgi"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(flask + ["demo-data", "--members", "80", "--tasks", "60"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=180)
    port = _free_port()
    log = open(tmp / "gunicorn.log", "w")
    proc = subprocess.Popen([str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                            env={**env, "PORT": str(port), "BIND": f"127.0.0.1:{port}"}, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("gunicorn did not start:\n" + (tmp / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=60_000)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    target = os.environ.get("BAODAO_SCREENSHOTS")
    folder = (ROOT / target) if target and not os.path.isabs(target) else Path(target or
                                                                               tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
    return shoot


@pytest.fixture
def login(browser, server):
    contexts = []

    def make(username):
        context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                      locale="zh-CN", base_url=server)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.content()[:2000]
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def photo_file(tmp_path_factory):
    from PIL import Image, ImageDraw

    path = tmp_path_factory.mktemp("photo") / "visit.jpg"
    image = Image.new("RGB", (640, 480), (220, 230, 240))
    ImageDraw.Draw(image).rectangle((100, 100, 540, 380), fill=(183, 28, 28))
    image.save(path, "JPEG")
    return str(path)




@pytest.fixture(scope="session")
def big_photo_file(tmp_path_factory):
    """A 4000×3000 camera-sized photo of several MB (noise does not compress)."""
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "camera.jpg"
    Image.effect_noise((4000, 3000), 60).convert("RGB").save(path, "JPEG", quality=92)
    return str(path)
