"""``resonance demo``: the whole app wired to the sandbox, for a first look without accounts.

The sandbox plays ListenBrainz, MusicBrainz, Cover Art Archive, Last.fm, a
Navidrome library and slskd with Soulseek peers. The discovery pipelines run
once so the queue is full when the page opens; the downloader runs every
minute, so an approved album is searched, queued and downloaded while you watch.

The household has two members, each with a ListenBrainz user of the sandbox:
Alice (admin) and Bob (member). Sign-in is plain HTTP Basic with the demo
passwords below, printed when the demo starts: the demo runs the same sign-in
code as a real install, with no switch of its own. To be the other member, use
a private window (a browser keeps one Basic login per site).

Notifications go to a small ntfy-like receiver started with the demo
(app/sandbox/notify_receiver.py): the household's topic and one per member.
The Jobs page lists what was sent where.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app import __version__, pipelines
from app.config import ConfigError, load_settings
from app.logs import setup_logging
from app.repository import DATA_DIR_ENV, Repository

# library-discovery first: the queue opens newest first, so its cards come after those of the other
# two; an announced album (which no one can download yet) never leads the cards added with it.
DISCOVERY_JOBS = ("library-discovery", "lb-fetch", "catalog-discovery")
#: name, role, the sandbox's ListenBrainz user, the demo password (shown when the demo starts)
DEMO_MEMBERS = (("Alice", "admin", "rob", "alice-demo"), ("Bob", "member", "mia", "bob-demo"))


def fault_rate(text: str) -> float:
    """``0.2`` or ``20%`` → 0.2 (argparse type)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a share of requests between 0 and 1 (or 0% to 100%)")
    return value


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """``--fault-rate``, ``--fault-kinds``, ``--fault-seed`` of ``resonance demo`` and ``python -m app.sandbox``.

    Defined here, not in the sandbox, so the CLI's parser does not load the fake services."""
    parser.add_argument("--fault-rate", type=fault_rate, default=0.0,
                        help="share of every fake service's requests that misbehave, 0..1 or N%% (default 0)")
    parser.add_argument("--fault-kinds", default="all",
                        help="comma-separated among 500,timeout,truncated,unreadable201,reset (default: all)")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed of the faults' RNG (repeatable runs)")


#: Folders of the demo's data dir standing for slskd's downloads and the household's library.
DEMO_DOWNLOADS = "downloads"
DEMO_LIBRARY = "library"


def share_folders(sandbox, data_dir: Path) -> None:
    """The fake slskd writes its finished downloads, and the fake Navidrome scans the library, in the
    folders of the demo's data dir that ``demo_environment`` gives the import stage."""
    sandbox.settings.slskd_downloads_dir = str(data_dir / DEMO_DOWNLOADS)
    sandbox.settings.subsonic_library_dir = str(data_dir / DEMO_LIBRARY)


#: The demo receiver's topics (a topic is a secret to ntfy: whoever knows it reads the messages).
DEMO_TOPIC = "household-demo-4f9c"


def member_topic(name: str) -> str:
    return f"{name.lower()}-demo-4f9c"


def demo_household(receiver=None) -> str:
    """household.members of the demo (as the environment gives it: JSON); with the notification
    receiver, each member's messages go to a topic of their own there."""
    import json

    from werkzeug.security import generate_password_hash

    return json.dumps([{"name": name, "role": role, "listenbrainz_user": user,
                        # a cheap hash: these passwords are printed on the screen anyway
                        "password_hash": generate_password_hash(password, "pbkdf2:sha256:1000"),
                        **({"notify": [receiver.ntfy_url(member_topic(name))]} if receiver else {})}
                       for name, role, user, password in DEMO_MEMBERS])


def demo_environment(sandbox, data_dir: Path, port: int, receiver=None) -> dict[str, str]:
    """Settings pointing every service at the sandbox (environment variables win over any file)."""
    notifications = {"RESONANCE_NOTIFICATIONS__URLS": receiver.ntfy_url(DEMO_TOPIC),
                     "RESONANCE_NOTIFICATIONS__BASE_URL": f"http://127.0.0.1:{port}"} if receiver else {}
    return {
        **notifications,
        **sandbox.resonance_environment(),
        DATA_DIR_ENV: str(data_dir),
        "RESONANCE_CONFIG": str(data_dir / "demo-config.yaml"),  # the user's own config stays out of it
        "RESONANCE_WEB__HOST": "127.0.0.1",
        "RESONANCE_WEB__PORT": str(port),
        "RESONANCE_WEB__AUTH": "basic",
        "RESONANCE_HOUSEHOLD__MEMBERS": demo_household(receiver),
        "RESONANCE_WEB__WORKERS": "1",
        "RESONANCE_GENERAL__CONTACT": "resonance-demo@example.invalid",
        "RESONANCE_LISTENBRAINZ__SOURCE": "both",
        "RESONANCE_MUSICBRAINZ__RATE_LIMIT": "20",
        "SLSKD_INTERVAL": "1m",
        # The fake Soulseek bans nobody: approving the whole queue should not wait on the
        # real network's search pace (34 per 220 s).
        "RESONANCE_SLSKD__SEARCHES_PER_WINDOW": "100",
        "RESONANCE_SLSKD__SEARCH_WINDOW": "60s",
        "RESONANCE_SCHEDULE__RUN_ON_START": "false",
        # The whole path: the fake slskd writes real files into downloads/, the import verifies,
        # tags and files them into library/, which the fake Navidrome scans.
        "RESONANCE_LIBRARY__MODE": "import",
        "RESONANCE_LIBRARY__DOWNLOADS_DIR": str(data_dir / DEMO_DOWNLOADS),
        "RESONANCE_LIBRARY__LIBRARY_DIR": str(data_dir / DEMO_LIBRARY),
        "RESONANCE_LIBRARY__SCAN_TIMEOUT": "60s",
    }


def run_demo(data_dir: str = "./demo-data", port: int = 8080, fault_rate: float = 0.0,
             fault_kinds: str = "all", fault_seed: int | None = None) -> int:
    from app.cli import serve_all
    from app.sandbox import Sandbox, SandboxSettings
    from app.sandbox.core import parse_fault_kinds
    from app.sandbox.notify_receiver import NotificationReceiver
    from jobs.runner import JobRunner

    try:
        kinds = parse_fault_kinds(fault_kinds)
    except ValueError as exc:
        print(f"resonance demo: {exc}", file=sys.stderr)
        return 2

    from app.cli import EXIT_BUSY, refuse_taken_port

    if refuse_taken_port("demo", "127.0.0.1", port):  # before the fake world starts and the discovery runs
        return EXIT_BUSY
    folder = Path(data_dir).absolute()
    # Searches and transfers take a few seconds, so progress is visible but quick. The fake
    # MusicBrainz needs no politeness, so the demo lifts its 1 request/s (see demo_environment).
    sandbox_settings = SandboxSettings(slskd_search_seconds=3.0, slskd_queue_seconds=3.0, slskd_transfer_seconds=20.0,
                                       musicbrainz_rate=0)
    with Sandbox(settings=sandbox_settings) as sandbox, NotificationReceiver() as receiver:
        share_folders(sandbox, folder)
        if fault_rate:
            # A misbehaving world (--fault-rate): held requests give up after a few seconds.
            sandbox.settings.hang_seconds = 5.0
            sandbox.inject_faults(fault_rate, kinds, seed=fault_seed)
        os.environ.update(demo_environment(sandbox, folder, port, receiver))
        repository = Repository(folder)
        try:
            settings = load_settings(repository.saved_settings())
        except ConfigError as exc:
            print("resonance demo: the settings are wrong:", *exc.messages, sep="\n  ", file=sys.stderr)
            return 2
        setup_logging(settings.general.log_level, settings.secret_values())
        print(f"Resonance {__version__} demo: fake services started; finding albums (a few seconds)...", flush=True)
        for job in DISCOVERY_JOBS:
            if job in pipelines.PIPELINES:
                result = JobRunner(job, repository).run(trigger="demo")
                if result:
                    print(f"  {job}: {result.summary}", flush=True)
        sign_in = "; ".join(f"{name} / {password} ({role})" for name, role, _, password in DEMO_MEMBERS)
        banner = (f"Resonance demo is running on http://127.0.0.1:{port} (data in {folder}).\n"
                  f"Sign in as {sign_in}; a private window lets you be the other one.\n"
                  "Approve a few albums, then watch them on the Downloads page. Ctrl-C stops it.\n"
                  f"Notifications go to a receiver at {receiver.url}/messages; the Jobs page lists them.")
        return serve_all(settings, repository, run_on_start=False, banner=banner)
