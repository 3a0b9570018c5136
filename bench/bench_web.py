"""The web UI as `resonance web` serves it, with 10,000 pending albums (figures, not a test).

The server is the real command, ``resonance web`` (gunicorn, the settings' workers and
threads), over a temp data dir and config file, on 127.0.0.1. Its data dir is written by
``queue_data.make_data_dir`` in today's file layout: 10,000 pending with no history, then
10,000 pending with 100,000 decided (50,000 approved, 50,000 rejected with details).

Measured, median and p95 of the server's own time (its Server-Timing header) and of the
round trip: the queue page, and an approve as the page's button sends it (htmx, CSRF token).

First visit: every byte the browser fetches for the queue page, compressed as served.
Two counts: what Debian's Chromium (headless, through Playwright) really fetches on a first
visit, the encoded size of each response body; and everything the page references, parsed:
the HTML, each stylesheet, script, image and icon it links, the web app manifest and every
icon the manifest lists (a phone that installs the app fetches those), each fetched once
with ``Accept-Encoding: gzip, deflate, br``. Album covers come from the Cover Art Archive,
not from Resonance, and are left out. Headers are shown apart.

Targets (2-core machine): queue page p95 < 20 ms server time at 10k pending, whatever the
history; approve p95 < 20 ms; first visit < 60 KB compressed.

    python bench/bench_web.py [--rounds N] [--no-browser]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conditions import end_process  # noqa: E402
from queue_data import APPROVED, PENDING, REJECTED, make_data_dir  # noqa: E402

PAGE_TARGET_MS = 20
APPROVE_TARGET_MS = 20
FIRST_VISIT_TARGET = 60_000  # bytes
USER, PASSWORD = "bench", "bench-password-123"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


def server_ms(response: requests.Response) -> float:
    match = re.search(r"app;dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


def report(name: str, server: list[float], client: list[float], target: float) -> None:
    verdict = "ok" if p95(server) < target else "OVER TARGET"
    print(f"  {name:<28} server median {statistics.median(server):7.1f} ms  p95 {p95(server):7.1f} ms   "
          f"round trip median {statistics.median(client):7.1f} ms  p95 {p95(client):7.1f} ms   "
          f"(target server p95 < {target:.0f} ms: {verdict})")


def session() -> requests.Session:
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    s.headers["Accept-Encoding"] = "gzip, deflate, br"
    return s


class WebServer:
    """``resonance web`` on a free port over ``data_dir``, with a config file of its own."""

    def __init__(self, root: Path, data_dir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = root / "config.yaml"
        config.write_text(f"web:\n  host: 127.0.0.1\n  port: {self.port}\n  auth: basic\n"
                          f"  username: {USER}\n  password: {PASSWORD}\n"
                          "general:\n  log_level: WARNING\n", encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RESONANCE_")}
        self.env.update({"RESONANCE_DATA_DIR": str(data_dir), "RESONANCE_CONFIG": str(config),
                         "PYTHONPATH": str(ROOT)})
        installed = Path(sys.executable).parent / "resonance"
        self.command = [str(installed), "web"] if installed.exists() else [sys.executable, "-m", "app.cli", "web"]
        self.cwd = root
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> WebServer:
        self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + 120  # a first start may convert the data dir
        while True:
            try:
                if requests.get(self.base + "/health", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__()
                raise SystemExit("resonance web did not start")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            end_process(self.process)


def measure_requests(server: WebServer, pending: list[str], rounds: int, approves: int) -> None:
    s = session()
    base = server.base
    for _ in range(20):  # warm up: the worker has parsed the queue, checked the password, compiled templates
        s.get(base + "/")
    server_times, client_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        response = s.get(base + "/")
        client_times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        server_times.append(server_ms(response))
    report("queue page (50 of 10,000)", server_times, client_times, PAGE_TARGET_MS)

    token = re.search(r'name="csrf-token" content="([^"]+)"', s.get(base + "/").text).group(1)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    server_times, client_times = [], []
    for mbid in pending[:approves]:
        start = time.perf_counter()
        response = s.post(base + "/queue/approve", data={"mbid": mbid}, headers=headers)
        client_times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        server_times.append(server_ms(response))
    report("approve (htmx)", server_times, client_times, APPROVE_TARGET_MS)


# --- first visit -----------------------------------------------------------------------


class References(HTMLParser):
    """Same-site URLs a page makes a browser fetch or install: stylesheets, scripts, images, icons, manifest."""

    FETCHED_RELS = {"stylesheet", "icon", "shortcut icon", "apple-touch-icon", "manifest", "preload", "modulepreload"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.manifests: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and (attrs.get("rel") or "").lower() in self.FETCHED_RELS and attrs.get("href"):
            self.urls.append(attrs["href"])
            if attrs["rel"].lower() == "manifest":
                self.manifests.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])


def wire_size(s: requests.Session, url: str) -> tuple[int, int, str, bytes]:
    """(body bytes as sent, header bytes, Content-Encoding, decoded body) of one GET."""
    response = s.get(url, stream=True)
    raw = response.raw.read(decode_content=False)
    encoding = response.headers.get("Content-Encoding", "")
    body = gzip.decompress(raw) if encoding == "gzip" else raw
    headers = len(f"HTTP/1.1 {response.status_code} {response.reason}\r\n") + sum(
        len(f"{k}: {v}\r\n") for k, v in response.headers.items()) + 2
    return len(raw), headers, encoding, body


def referenced_bytes(base: str) -> list[tuple[str, int, int, str, int]]:
    """Every same-site resource the queue page references, and the manifest's icons: (url, sent, headers,
    encoding, gzip -9 size of the body)."""
    s = session()
    rows = []
    seen: set[str] = set()

    def fetch(url: str) -> bytes:
        sent, headers, encoding, body = wire_size(s, url)
        rows.append((url.replace(base, "") or "/", sent, headers, encoding, len(gzip.compress(body, 9))))
        return body

    html = fetch(base + "/").decode()
    parser = References()
    parser.feed(html)
    queue = [urljoin(base + "/", u) for u in parser.urls]
    manifests = {urljoin(base + "/", u) for u in parser.manifests}
    while queue:
        url = queue.pop(0)
        if urlsplit(url).netloc != urlsplit(base).netloc or url in seen:
            continue  # album covers and anything else from another site
        seen.add(url)
        body = fetch(url)
        if url in manifests:
            for icon in json.loads(body).get("icons", []):
                queue.append(urljoin(url, icon["src"]))
        elif url.split("?")[0].endswith(".css"):
            queue.extend(urljoin(url, ref.strip("'\"")) for ref in re.findall(r"url\(([^)]+)\)", body.decode())
                         if not ref.strip("'\"").startswith("data:"))
    return rows


def browser_bytes(base: str) -> list[tuple[str, int, int]] | str:
    """What headless Chromium fetches on a first visit: (url, encoded body size, header size) per response."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    if not Path("/usr/bin/chromium").exists():
        return "no /usr/bin/chromium (apt-get install chromium)"
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            phone = dict(p.devices["Galaxy S8"])
            phone.pop("default_browser_type", None)
            context = browser.new_context(**phone, http_credentials={"username": USER, "password": PASSWORD})
            page = context.new_page()
            # Covers would come from the Cover Art Archive: not Resonance's bytes, and no internet here.
            page.route(lambda url: urlsplit(url).netloc != urlsplit(base).netloc, lambda route: route.abort())
            responses = []
            page.on("requestfinished", lambda request: responses.append(request))
            page.goto(base + "/", wait_until="networkidle")
            for request in responses:
                sizes = request.sizes()
                rows.append((request.url.replace(base, "") or "/", sizes["responseBodySize"],
                             sizes["responseHeadersSize"]))
            context.close()
        finally:
            browser.close()
    return rows


def first_visit(base: str, use_browser: bool) -> None:
    print("\nfirst visit to the queue page (10,000 pending), bytes as served:")
    rows = referenced_bytes(base)
    encodings = {encoding for _, _, _, encoding, _ in rows if encoding}
    print(f"  the server compresses: {', '.join(sorted(encodings)) or 'nothing'} "
          "(text types over 600 bytes; PNG is sent as it is)")
    for url, sent, headers, encoding, gzipped in rows:
        print(f"    {url:<58} {sent / 1000:6.1f} KB {encoding or 'as is':<6} (gzip -9 would be "
              f"{gzipped / 1000:5.1f} KB) + {headers} B headers")
    total = sum(sent for _, sent, *_ in rows)
    header_total = sum(headers for _, _, headers, *_ in rows)
    verdict = "ok" if total < FIRST_VISIT_TARGET else "OVER TARGET"
    print(f"  everything the page and its manifest reference: {total / 1000:.1f} KB in {len(rows)} responses, "
          f"+ {header_total / 1000:.1f} KB of headers (target < {FIRST_VISIT_TARGET / 1000:.0f} KB: {verdict})")
    if not use_browser:
        return
    fetched = browser_bytes(base)
    if isinstance(fetched, str):
        print(f"  headless Chromium: not measured: {fetched}")
        return
    for url, body, headers in fetched:
        print(f"    {url:<58} {body / 1000:6.1f} KB + {headers} B headers")
    total = sum(body for _, body, _ in fetched)
    verdict = "ok" if total < FIRST_VISIT_TARGET else "OVER TARGET"
    print(f"  what headless Chromium fetched: {total / 1000:.1f} KB in {len(fetched)} responses, "
          f"+ {sum(h for *_, h in fetched) / 1000:.1f} KB of headers (target < {FIRST_VISIT_TARGET / 1000:.0f} KB: "
          f"{verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="queue page loads per case")
    parser.add_argument("--approves", type=int, default=50, help="approves per case")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium count")
    args = parser.parse_args()
    cases = [(f"{PENDING:,} pending + 0 decided", 0),
             (f"{PENDING:,} pending + {APPROVED + REJECTED:,} decided", APPROVED + REJECTED)]
    for number, (label, decided) in enumerate(cases):
        root = Path(tempfile.mkdtemp(prefix="bench-web-"))
        try:
            made = make_data_dir(root / "data", approved=decided // 2, rejected=decided - decided // 2)
            started = time.perf_counter()
            with WebServer(root, root / "data") as server:
                print(f"\n{label} (pending_queue.json {made['bytes'] / 1e6:.1f} MB as written today); "
                      f"`resonance web` answered /health after {time.perf_counter() - started:.1f} s")
                measure_requests(server, [item["mbid"] for item in made["pending"]], args.rounds, args.approves)
                if number == 0:
                    first_visit(server.base, not args.no_browser)
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
