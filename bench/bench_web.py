"""The web UI over a real gunicorn on 127.0.0.1 with 10,000 pending items (figures, not a test).

Measures the queue page and an approve request (median and p95 of the server's
own time, from its Server-Timing header, and of the round trip seen by the
client), requests per second with 8 concurrent clients, and the bytes a first
visit to the queue page moves (HTML + CSS + JS, gzip, without covers).

Targets: p95 < 100 ms for both; first visit < 60 KB.
Runs in about 40 s; everything stays on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queue_data import make_items  # noqa: E402

from app.repository import Repository  # noqa: E402

PENDING = 10_000
ROUNDS = 200
CONCURRENCY = 8
THROUGHPUT_SECONDS = 5.0
USER, PASSWORD = "bench", "bench-password-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


def server_ms(response: requests.Response) -> float:
    match = re.search(r"app;dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


def report(name: str, server: list[float], client: list[float], target: float) -> None:
    p95 = percentile(server, 95)
    verdict = "ok" if p95 < target else "OVER TARGET"
    print(f"{name:<26} server median {statistics.median(server):6.1f} ms  p95 {p95:6.1f} ms   "
          f"round trip median {statistics.median(client):6.1f} ms  p95 {percentile(client, 95):6.1f} ms   "
          f"(target p95 < {target:.0f} ms: {verdict})")


def session() -> requests.Session:
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    s.headers["Accept-Encoding"] = "gzip"
    return s


def csrf_token(s: requests.Session, base: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', s.get(base + "/").text).group(1)


def throughput(base: str, make_request, seconds: float = THROUGHPUT_SECONDS) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * CONCURRENCY
    errors: list[str] = []

    def worker(index: int) -> None:
        s = session()
        token = csrf_token(s, base)
        while time.monotonic() < stop:
            response = make_request(s, token)
            if response is None:  # nothing left to approve
                return
            if response.status_code >= 400:
                errors.append(f"{response.status_code}")
                return
            counts[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"  errors during the throughput run: {errors[:5]}")
    return sum(counts) / seconds


def first_visit_bytes(base: str) -> tuple[int, list[tuple[str, int]]]:
    s = session()
    parts = []
    page = s.get(base + "/", stream=True)
    html_bytes = page.raw.read(decode_content=False)
    parts.append(("/ (HTML)", len(html_bytes)))
    html = page.content.decode() if not html_bytes else __import__("gzip").decompress(html_bytes).decode()
    for url in re.findall(r'<(?:link rel="stylesheet"|script) [^>]*(?:href|src)="([^"]+)"', html):
        response = s.get(base + url, stream=True)
        parts.append((url.split("?")[0], len(response.raw.read(decode_content=False))))
    return sum(size for _, size in parts), parts


def main() -> None:
    workers = os.environ.get("BENCH_WORKERS", "1")  # web.workers default
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        repository = Repository(data)
        items = make_items(PENDING)  # the approvals take some of them: about 9,700 are left at the end
        repository.add_pending(items)
        config = Path(tmp) / "config.yaml"
        config.write_text(f"web:\n  auth: basic\n  username: {USER}\n  password: {PASSWORD}\n", encoding="utf-8")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "RESONANCE_DATA_DIR": str(data), "RESONANCE_CONFIG": str(config),
               "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", workers,
                   "--threads", "4", "--worker-class", "gthread", "--log-level", "warning", "app:create_served_app()"]
        server = subprocess.Popen(command, env=env, cwd=tmp)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(base + "/health", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.2)
            print(f"gunicorn: {workers} workers x 4 threads on {base}; {repository.pending_count():,} pending items "
                  f"({(data / 'pending_queue.json').stat().st_size / 1e6:.1f} MB)")

            s = session()
            for _ in range(20):  # warm up: every worker has parsed the queue and checked the password
                s.get(base + "/")
            server_times, client_times = [], []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                response = s.get(base + "/")
                client_times.append((time.perf_counter() - start) * 1000)
                server_times.append(server_ms(response))
                assert response.status_code == 200
            report(f"queue page (50 of {repository.pending_count():,})", server_times, client_times, 100)

            token = csrf_token(s, base)
            mbids = iter(item["mbid"] for item in items)
            server_times, client_times = [], []
            headers = {"HX-Request": "true", "X-CSRF-Token": token}
            for _ in range(ROUNDS):
                start = time.perf_counter()
                response = s.post(base + "/queue/approve", data={"mbid": next(mbids)}, headers=headers)
                client_times.append((time.perf_counter() - start) * 1000)
                server_times.append(server_ms(response))
                assert response.status_code == 200, response.status_code
            report("approve (htmx)", server_times, client_times, 100)

            page_rate = throughput(base, lambda c, t: c.get(base + "/"))
            lock = threading.Lock()

            def approve(c, t):
                with lock:
                    mbid = next(mbids, None)
                if mbid is None:
                    return None
                return c.post(base + "/queue/approve", data={"mbid": mbid}, headers={"HX-Request": "true",
                                                                                    "X-CSRF-Token": t})

            approve_rate = throughput(base, approve)
            print(f"throughput, {CONCURRENCY} clients: queue page {page_rate:6.1f} req/s, approve {approve_rate:6.1f} req/s")

            total, parts = first_visit_bytes(base)
            verdict = "ok" if total < 60_000 else "OVER TARGET"
            detail = ", ".join(f"{name} {size / 1000:.1f} KB" for name, size in parts)
            print(f"first visit, gzip: {total / 1000:.1f} KB ({detail}) (target < 60 KB: {verdict})")
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
