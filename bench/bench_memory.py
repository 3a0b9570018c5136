"""Memory of every process with the four services up under s6 (figures, not a test).

Starts the service tree as tests/container does (Debian's s6-svscan over the longruns of
s6-overlay/s6-rc.d, with the container's environment: see tests/container/harness.py),
and measures each process:

- RSS (VmRSS): every page the process has in memory, shared or not. Summing RSS counts
  a page shared by two processes twice: gunicorn's worker shares with its master what
  the fork left unchanged, and every Python process maps the same interpreter.
- PSS (smaps_rollup Pss): each shared page divided among the processes sharing it. The
  sum of PSS is what the tree really takes from the machine.

Three data dirs: an empty one, 10,000 pending albums with no history, and a household's
after years of use (``queue_data``: 10,000 pending albums, 100,000 decided, written in
today's file layout, so a version that keeps them differently converts it on this first
start). Each is measured idle, after one
load of each page of the web UI (templates compiled, as after any use) with no pipeline
run; the realistic one again after 1,000 approves through the web UI (real HTTP, signed
in, with the page's CSRF token, one after the other as a person clicks), the web worker's
RSS noted every 100. With ``--runs``, each pipeline then runs once against app.sandbox's
fake services (started in this process, so their memory is not counted).

Figures in MB (SI, 1,000,000 bytes). Targets: the whole app (its Python processes) at
most 130 MB RSS idle with 10k + 100k, and at most 10% more after 1,000 approves.
s6's own processes are shown apart.

    python bench/bench_memory.py [--workers 1,2] [--approves N] [--budget SECONDS] [--runs]

The approves stop at a time budget (100 s) if they are slow, and say so.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import requests  # noqa: E402
from container.harness import (  # noqa: E402
    RUNNERS,
    SERVICES,
    ServiceTree,
    base_env,
    free_port,
    wait_for,
)
from queue_data import APPROVED, PENDING, REJECTED, make_data_dir  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.repository import Repository  # noqa: E402
from app.repository.history import DECIDED_KEPT_SECONDS  # noqa: E402
from app.sandbox import Sandbox, SandboxSettings  # noqa: E402

TARGET_MB = 130
GROWTH_TARGET = 0.10  # at most 10% more after the approves
PAGES = ("/", "/queue", "/wishlist", "/downloads", "/jobs", "/history/approved", "/history/rejected",
         "/blocklist", "/settings")
MB = 1_000_000  # SI
MiB = 1024 * 1024


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
            else:  # the service is the job's standby; a child is its runner at work (and its run)
                label = f"{service} (standby)" if n == 0 else f"{service}: runner at work"
            figures = memory(pid)
            if figures:
                rows[label] = figures
    for n, pid in enumerate(tree.supervisors()):
        figures = memory(pid)
        if figures:
            rows["s6: s6-svscan" if n == 0 else f"s6: s6-supervise {n}"] = figures
    return rows


def workers_rss(tree: ServiceTree) -> int:
    pids = tree.processes()["web-ui"][1:]
    return sum((memory(pid) or (0, 0))[0] for pid in pids)


def signed_in(tree: ServiceTree) -> requests.Session:
    s = requests.Session()
    s.auth = (tree.env["RESONANCE_WEB__USERNAME"], tree.env["RESONANCE_WEB__PASSWORD"])
    return s


def load_pages(tree: ServiceTree) -> None:
    s = signed_in(tree)
    for page in PAGES:
        s.get(f"{tree.web_url}{page}", timeout=60)


def approve_through_the_web(tree: ServiceTree, mbids: list[str], budget: float) -> tuple[int, float, list[str]]:
    """Approve each album as the queue page's button does: (how many, seconds, worker RSS every 100)."""
    s = signed_in(tree)
    token = re.search(r'name="csrf-token" content="([^"]+)"', s.get(tree.web_url + "/", timeout=60).text).group(1)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    started = time.monotonic()
    done, growth = 0, [f"0: {workers_rss(tree) / MB:.1f}"]
    for mbid in mbids:
        response = s.post(f"{tree.web_url}/queue/approve", data={"mbid": mbid}, headers=headers, timeout=60)
        if response.status_code != 200:
            raise SystemExit(f"an approve answered {response.status_code}: {response.text[:300]}")
        done += 1
        if done % 100 == 0:
            growth.append(f"{done}: {workers_rss(tree) / MB:.1f}")
        if time.monotonic() - started > budget:
            break
    return done, time.monotonic() - started, growth


def run_once(tree: ServiceTree, job: str, timeout: float = 300) -> str:
    before = (tree.job_statuses().get(job, {}).get("last_run") or {}).get("finished_at")
    Repository(tree.data_dir).request_run(job)
    status = wait_for(lambda: (last := tree.job_statuses().get(job, {}).get("last_run")) and
                      last.get("finished_at") != before and last, timeout=timeout, interval=0.2,
                      what=f"{job}'s run")
    return f"{status['outcome']} in {status['seconds']:.1f} s"


def measure(workers: int, sandbox, decided: int | None, args) -> dict:
    """One tree over an empty data dir (``decided`` None) or 10,000 pending and ``decided`` decided albums."""
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    # Auto mode: what lb-fetch and catalog-discovery find goes straight to the wishlist, so
    # slskd-downloader has searches to make (with --runs).
    # Soulseek's search rate limit is lifted: the sandbox does not ban, and a run would
    # otherwise take minutes.
    extra = {"RESONANCE_SCHEDULE__RUN_ON_START": "false", "RESONANCE_GENERAL__APPROVAL_MODE": "auto",
             "RESONANCE_SLSKD__SEARCHES_PER_WINDOW": "100", "RESONANCE_SLSKD__SEARCH_WINDOW": "1s",
             "RESONANCE_WEB__WORKERS": str(workers)}
    tree = ServiceTree(root, base_env(root, free_port(), upstream(sandbox), **extra))
    realistic = decided == APPROVED + REJECTED
    what = f"{PENDING:,} pending + {decided:,} decided" if decided is not None else "empty data dir"
    made = None
    if decided is not None:
        made = make_data_dir(tree.data_dir, approved=decided // 2, rejected=decided - decided // 2)
    size = f" (pending_queue.json {made['bytes'] / 1e6:.1f} MB as written today)" if made else ""
    print(f"\n== {what}{size}; gunicorn workers: {workers}, threads: {load_settings(env={}).web.threads}")
    phases: list[tuple[str, dict[str, tuple[int, int]]]] = []
    notes = []
    try:
        tree.start()
        wait_for(lambda: tree.all_up(min_seconds=2), timeout=120, what=f"the services up\n{tree.log()}")
        wait_for(lambda: requests.get(f"{tree.web_url}/health", timeout=2).ok, timeout=120, what="/health")
        # Idle: each job's service down to its standby (its runner starts again when a run is due).
        wait_for(lambda: all(len(tree.processes()[job]) == 1 for job in RUNNERS), timeout=120,
                 what=f"the runners standing by\n{tree.log()}")
        load_pages(tree)
        # At rest: nobody has used the app for a while (what only the History page needs is let go
        # after DECIDED_KEPT_SECONDS), and the keep-warm thread has had its look.
        time.sleep(DECIDED_KEPT_SECONDS + 3)
        phases.append(("idle", snapshot(tree)))
        if realistic:
            mbids = [item["mbid"] for item in made["pending"][: args.approves]]
            done, seconds, growth = approve_through_the_web(tree, mbids, args.budget)
            stopped = "" if done == len(mbids) else f", stopped at the time budget of {args.budget:.0f} s"
            notes.append(f"{done:,} approves through the web in {seconds:.1f} s "
                         f"({seconds / done * 1000:.0f} ms each{stopped})")
            notes.append("web worker RSS (MB) after N approves: " + ", ".join(growth))
            time.sleep(1.5)
            phases.append((f"after {done:,} approves", snapshot(tree)))
        if args.runs:
            for job in RUNNERS:
                notes.append(f"run {job}: {run_once(tree, job)}")
                time.sleep(0.5)
                phases.append((f"after {job}", snapshot(tree)))
    finally:
        tree.stop()
        shutil.rmtree(root, ignore_errors=True)
    return report(phases, notes, realistic)


def report(phases: list[tuple[str, dict[str, tuple[int, int]]]], notes: list[str], realistic: bool) -> dict:
    labels = list(dict.fromkeys(label for _, rows in phases for label in rows))
    print(f"{'':<30}" + "".join(f"{name:>24}" for name, _ in phases))
    print(f"{'process (MB)':<30}" + "".join(f"{'RSS':>16}{'PSS':>8}" for _ in phases))

    def line(label: str, values: list[tuple[int, int] | None]) -> str:
        cells = "".join(f"{v[0] / MB:>16.1f}{v[1] / MB:>8.1f}" if v else f"{'-':>24}" for v in values)
        return f"{label:<30}{cells}"

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
    verdict = ("ok" if idle_rss <= TARGET_MB * MB else "OVER TARGET") if realistic else "no target"
    print(f"app idle: {idle_rss / MB:.1f} MB RSS ({idle_rss / MiB:.1f} MiB), {idle_pss / MB:.1f} MB PSS "
          f"(target with 10k + 100k: at most {TARGET_MB} MB RSS: {verdict})")
    figures = {"idle": idle_rss}
    if realistic and len(phases) > 1:
        after_rss, after_pss = total(phases[1][1], app_labels)
        growth = after_rss / idle_rss - 1
        verdict = "ok" if growth <= GROWTH_TARGET else "OVER TARGET"
        print(f"app {phases[1][0]}: {after_rss / MB:.1f} MB RSS, {after_pss / MB:.1f} MB PSS, "
              f"{growth * 100:+.1f}% on idle (target at most +{GROWTH_TARGET * 100:.0f}%: {verdict})")
        figures["after"] = after_rss
    for note in notes:
        print(f"  {note}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1",
                        help="gunicorn worker counts to measure, comma-separated (default: 1, web.workers' default)")
    parser.add_argument("--approves", type=int, default=1000, help="approves through the web (default 1000)")
    parser.add_argument("--budget", type=float, default=100.0, help="seconds at most for the approves (default 100)")
    parser.add_argument("--runs", action="store_true", help="then run each pipeline once against the sandbox")
    parser.add_argument("--size", choices=("small", "bench"), default="small", help="the sandbox's catalogue")
    args = parser.parse_args()
    missing = [tool for tool in ("s6-svscan", "s6-svstat") if not shutil.which(tool)]
    if missing:
        sys.exit(f"{', '.join(missing)} missing: install Debian's s6 (scripts/install-system-deps)")
    print(f"Python processes of Resonance under s6, {len(SERVICES)} services; MB = 1,000,000 bytes "
          f"(target: app at most {TARGET_MB} MB RSS idle with 10k + 100k, at most "
          f"+{GROWTH_TARGET * 100:.0f}% after {args.approves:,} approves)")
    with Sandbox(size=args.size, settings=SandboxSettings.fast()) as sandbox:
        for workers in args.workers.split(","):
            measure(int(workers), sandbox, None, args)
            measure(int(workers), sandbox, 0, args)
            measure(int(workers), sandbox, APPROVED + REJECTED, args)


if __name__ == "__main__":
    main()
