"""Memory of every process with the four services up under s6 (figures, not a test).

Starts the service tree as tests/container does (Debian's s6-svscan over the longruns of
s6-overlay/s6-rc.d, with the container's environment: see tests/container/harness.py),
then measures each process, first idle, then right after each pipeline ran once (a
"Run now" request, as the web UI makes them):

- RSS (VmRSS): every page the process has in memory, shared or not. Summing RSS counts
  a page shared by two processes twice: gunicorn's worker shares with its master what
  the fork left unchanged, and every Python process maps the same interpreter.
- PSS (smaps_rollup Pss): each shared page divided among the processes sharing it. The
  sum of PSS is what the tree really takes from the machine.

Target: the whole app (its Python processes) at most 130 MB RSS idle, no more than a
comparable single-process Node app. s6's own processes are shown apart.

    python bench/bench_memory.py [--workers 1,2]

"idle" is after one load of each page of the web UI (templates compiled, as after any
use) with no pipeline run yet. The runs go against app.sandbox's fake services (its small
catalogue by default; --size bench for the large one), started in this process, so
their memory is not counted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import requests  # noqa: E402
from container.harness import (  # noqa: E402
    RUNNERS,
    SERVICES,
    ServiceTree,
    base_env,
    free_port,
    wait_for,
)

from app.config import load_settings  # noqa: E402
from app.repository import Repository  # noqa: E402
from app.sandbox import Sandbox, SandboxSettings  # noqa: E402

TARGET_MB = 130
PAGES = ("/", "/queue", "/wishlist", "/downloads", "/jobs", "/history/approved", "/blocklist", "/settings")
MB = 1024 * 1024


def upstream(sandbox) -> dict[str, str]:
    """Every outside service pointed at the sandbox's fakes."""
    return sandbox.resonance_environment()


def memory(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) in bytes, or None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8")
    except OSError:
        return None
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    pss = next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return rss * 1024, pss * 1024


def snapshot(tree: ServiceTree) -> dict[str, tuple[int, int]]:
    """Label -> (RSS, PSS) for every process of the app, then s6's own."""
    rows: dict[str, tuple[int, int]] = {}
    for service, pids in tree.processes().items():
        for n, pid in enumerate(pids):
            if service == "web-ui":
                label = "web-ui: gunicorn master" if n == 0 else f"web-ui: worker {n}"
            else:  # a runner's child is a run or a between-runs check in progress
                label = service if n == 0 else f"{service}: run/check child"
            figures = memory(pid)
            if figures:
                rows[label] = figures
    for n, pid in enumerate(tree.supervisors()):
        figures = memory(pid)
        if figures:
            rows["s6: s6-svscan" if n == 0 else f"s6: s6-supervise {n}"] = figures
    return rows


def load_pages(tree: ServiceTree) -> None:
    auth = (tree.env["RESONANCE_WEB__USERNAME"], tree.env["RESONANCE_WEB__PASSWORD"])
    for page in PAGES:
        requests.get(f"{tree.web_url}{page}", auth=auth, timeout=10)


def run_once(tree: ServiceTree, job: str, timeout: float = 300) -> str:
    before = (tree.job_statuses().get(job, {}).get("last_run") or {}).get("finished_at")
    Repository(tree.data_dir).request_run(job)
    status = wait_for(lambda: (last := tree.job_statuses().get(job, {}).get("last_run")) and
                      last.get("finished_at") != before and last, timeout=timeout, interval=0.2,
                      what=f"{job}'s run")
    return f"{status['outcome']} in {status['seconds']:.1f} s"


def measure(workers: int | None, sandbox) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    # Auto mode: what lb-fetch and catalog-discovery find goes straight to the wishlist, so
    # slskd-downloader has searches to make.
    # Soulseek's search rate limit is lifted: the sandbox does not ban, and a run would
    # otherwise take minutes.
    extra = {"RESONANCE_SCHEDULE__RUN_ON_START": "false", "RESONANCE_GENERAL__APPROVAL_MODE": "auto",
             "RESONANCE_SLSKD__SEARCHES_PER_WINDOW": "100", "RESONANCE_SLSKD__SEARCH_WINDOW": "1s"}
    if workers is not None:
        extra["RESONANCE_WEB__WORKERS"] = str(workers)
    tree = ServiceTree(root, base_env(root, free_port(), upstream(sandbox), **extra))
    shown_workers = workers if workers is not None else load_settings(env={}).web.workers
    print(f"\n== gunicorn workers: {shown_workers}, threads: {load_settings(env={}).web.threads}")
    phases: list[tuple[str, dict[str, tuple[int, int]]]] = []
    notes = []
    try:
        tree.start()
        wait_for(lambda: tree.all_up(min_seconds=2), timeout=60, what=f"the services up\n{tree.log()}")
        wait_for(lambda: requests.get(f"{tree.web_url}/health", timeout=2).ok, timeout=30, what="/health")
        load_pages(tree)
        time.sleep(1.0)
        phases.append(("idle", snapshot(tree)))
        for job in RUNNERS:
            notes.append(f"{job}: {run_once(tree, job)}")
            time.sleep(0.5)
            phases.append((f"after {job}", snapshot(tree)))
    finally:
        tree.stop()
        shutil.rmtree(root, ignore_errors=True)
    report(phases, notes)


def report(phases: list[tuple[str, dict[str, tuple[int, int]]]], notes: list[str]) -> None:
    labels = list(dict.fromkeys(label for _, rows in phases for label in rows))
    print(f"{'':<26}" + "".join(f"{name:>24}" for name, _ in phases))
    print(f"{'process':<26}" + "".join(f"{'RSS MB':>16}{'PSS MB':>8}" for _ in phases))

    def line(label: str, values: list[tuple[int, int] | None]) -> str:
        cells = "".join(f"{v[0] / MB:>16.1f}{v[1] / MB:>8.1f}" if v else f"{'-':>24}" for v in values)
        return f"{label:<26}{cells}"

    app_labels = [label for label in labels if not label.startswith("s6:")]
    s6_labels = [label for label in labels if label.startswith("s6:")]
    for label in app_labels:
        print(line(label, [rows.get(label) for _, rows in phases]))

    def total(rows, chosen):
        present = [rows[label] for label in chosen if label in rows]
        return sum(r for r, _ in present), sum(p for _, p in present)

    print(line("app total", [total(rows, app_labels) for _, rows in phases]))
    print(line(f"s6 ({len(s6_labels)} processes)", [total(rows, s6_labels) for _, rows in phases]))
    idle_rss, idle_pss = total(phases[0][1], app_labels)
    verdict = "ok" if idle_rss <= TARGET_MB * MB else "OVER TARGET"
    print(f"app idle: {idle_rss / MB:.1f} MB RSS, {idle_pss / MB:.1f} MB PSS "
          f"(target: at most {TARGET_MB} MB RSS: {verdict})")
    for note in notes:
        print(f"  run {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2",
                        help="gunicorn worker counts to measure, comma-separated (default: 1,2)")
    parser.add_argument("--size", choices=("small", "bench"), default="small", help="the sandbox's catalogue")
    args = parser.parse_args()
    missing = [tool for tool in ("s6-svscan", "s6-svstat") if not shutil.which(tool)]
    if missing:
        sys.exit(f"{', '.join(missing)} missing: install Debian's s6 (scripts/install-system-deps)")
    print(f"Python processes of Resonance under s6, {len(SERVICES)} services "
          f"(MB = MiB; target: app at most {TARGET_MB} MB RSS idle)")
    with Sandbox(size=args.size, settings=SandboxSettings.fast()) as sandbox:
        summary = sandbox.catalogue.summary()
        counts = ", ".join(f"{value} {name}" for name, value in summary.items() if isinstance(value, int))
        print(f"sandbox: {args.size} catalogue ({counts})")
        for workers in args.workers.split(","):
            measure(int(workers), sandbox)


if __name__ == "__main__":
    main()
