"""The ``resonance`` command."""

from __future__ import annotations

import argparse
import os
import errno
import signal
import socket
import subprocess
import sys
import threading

from app import __version__, pipelines
from app.config import ConfigError, Settings, example_config, load_settings
from app.demo import add_fault_arguments
from app.logs import setup_logging
from app.repository import Repository, StorageError

EXIT_CONFIG = 2
EXIT_BUSY = 3
EXIT_PARTIAL = 4  # the run did part of its work; the rest is left for the next run

# How a runner starts the process of one run: this same command line tool.
RUN_COMMAND = [sys.executable, "-m", "app.cli", "job"]


def _settings_or_exit(repository: Repository) -> Settings:
    try:
        return load_settings(repository.saved_settings())
    except ConfigError as exc:
        print("resonance: the settings are wrong:", file=sys.stderr)
        for message in exc.messages:
            print(f"  {message}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def gunicorn_command(settings: Settings, host: str | None = None, port: int | None = None) -> list[str]:
    bind = f"{host or settings.web.host}:{port or settings.web.port}"
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", bind,
        "--workers", str(settings.web.workers),
        "--threads", str(settings.web.threads),
        "--worker-class", "gthread",
        "--graceful-timeout", "20",
        "--error-logfile", "-",
        "--log-level", settings.general.log_level.lower(),
        "--no-control-socket",  # unused, and it would want a writable home directory
        "app:create_served_app()",
    ]


def port_taken(host: str, port: int) -> bool:
    """Whether another program listens on host:port (gunicorn's bind would fail).

    Bound with SO_REUSEADDR as gunicorn binds, so a port left in TIME_WAIT by a
    Resonance that just stopped does not count as taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def refuse_taken_port(command: str, host: str, port: int) -> bool:
    """Say so and suggest --port when host:port is taken (instead of gunicorn's burst of errors)."""
    if not port_taken(host, port):
        return False
    free = next((p for p in range(port + 1, min(port + 50, 65536)) if not port_taken(host, p)), None)
    print(f"resonance {command}: port {port} on {host} is in use by another program.", file=sys.stderr)
    if free is not None:
        print(f"  Start it on another port: resonance {command} --port {free}"
              f"  (with make: make {command} PORT={free})", file=sys.stderr)
    else:
        print(f"  Start it on another port with --port (with make: make {command} PORT=...)", file=sys.stderr)
    return True


def cmd_check_config(args) -> int:
    repository = Repository()
    settings = _settings_or_exit(repository)
    print(f"Settings are valid (file: {settings.config_path}, data dir: {repository.data_dir}).")
    for name, source in sorted(settings.sources.items()):
        if source != "default":
            print(f"  {name} set by {source}")
    for moved in repository.settings_moved_aside():
        print(f"Warning: settings.json was damaged and moved aside as {moved}. The settings saved in the web UI "
              "that could be read were kept; any others (sign-in, the session key among them) are not in use: "
              "set them again, or copy them back from that file, then delete it.", file=sys.stderr)
    return 0


def cmd_upgrade_data(args) -> int:
    """Bring the data dir to this version's layout (the decided albums out of the queue file, once).

    Run by the container's init and before the web server starts, in a process that ends
    (or execs) right after: moving a large old file takes memory that a long-lived process
    would keep.
    """
    repository = Repository()
    try:
        repository.move_history_out()
    except StorageError as exc:
        print(f"resonance: the data dir cannot be brought up to date: {exc}", file=sys.stderr)
        return 1
    return 0


def _upgrade_data_in_a_child() -> None:
    subprocess.run([sys.executable, "-m", "app.cli", "upgrade-data"], check=False)


def cmd_example_config(args) -> int:
    print(example_config())
    return 0


def cmd_job(args) -> int:
    from jobs.runner import JobRunner

    repository = Repository()
    try:  # made first, so that a run reports a damaged settings.json read just below
        runner = JobRunner(args.name, repository, isolate=not (args.once or args.between), child_command=RUN_COMMAND)
    except LookupError as exc:
        print(f"resonance: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    settings = _settings_or_exit(repository)
    setup_logging(settings.general.log_level, settings.secret_values())
    _stop_on_signals(runner.stop_event)
    if args.between:
        with runner.keeping_log(settings):
            result = runner.check_between_runs()
        return run_exit_status(result)
    if args.stopped:
        runner.record_stopped()
        return 0
    if args.once:
        with runner.keeping_log(settings):
            result = runner.run(trigger=args.trigger)
        if result is None:
            print(f"resonance: {args.name} is already running", file=sys.stderr)
            return EXIT_BUSY
        if args.trigger == "cli":  # a runner's child has logged the same line already
            print(f"{args.name}: {result.outcome}: {result.summary}" + (f" ({result.error})" if result.error else "")
                  + (f"; left for the next run: {result.left}" if result.left else ""))
        return run_exit_status(result)
    runner.serve(until_idle=args.until_idle, resume=args.resume)
    return 0


def run_exit_status(result) -> int:
    if result.error:
        return 1
    return EXIT_PARTIAL if result.left else 0


def cmd_web(args) -> int:
    repository = Repository()
    settings = _settings_or_exit(repository)
    cmd_upgrade_data(args)  # here, not in the worker: the exec below frees what it took
    command = gunicorn_command(settings, args.host, args.port)
    os.execv(command[0], command)  # gunicorn replaces this process: nothing left in between
    return 0  # not reached


def cmd_run(args) -> int:
    """Everything in one go for a local install: runners as threads, web under gunicorn."""
    repository = Repository()
    settings = _settings_or_exit(repository)
    if refuse_taken_port("run", args.host or settings.web.host, args.port or settings.web.port):
        return EXIT_BUSY
    setup_logging(settings.general.log_level, settings.secret_values())
    return serve_all(settings, repository, args.host, args.port)


def serve_all(settings: Settings, repository: Repository, host: str | None = None, port: int | None = None,
              run_on_start: bool | None = None, banner: str = "") -> int:
    """Job runners as threads of this process, the web UI as a gunicorn child; until SIGTERM or Ctrl-C."""
    from jobs.runner import JobRunner

    _upgrade_data_in_a_child()
    stop = threading.Event()
    _stop_on_signals(stop)
    threads = []
    for job in sorted(pipelines.PIPELINES):
        runner = JobRunner(job, repository, stop_event=stop, isolate=True, child_command=RUN_COMMAND)
        thread = threading.Thread(target=runner.serve, kwargs={"run_on_start": run_on_start}, name=job, daemon=True)
        thread.start()
        threads.append(thread)
    web = subprocess.Popen(gunicorn_command(settings, host, port))
    host, port = host or settings.web.host, port or settings.web.port
    print(banner or f"Resonance {__version__} is running on http://{host}:{port} (data in {repository.data_dir}); "
          "Ctrl-C stops it.", flush=True)
    while not stop.wait(1.0):
        if web.poll() is not None:
            print("resonance: the web server stopped; shutting down", file=sys.stderr)
            stop.set()
    if web.poll() is None:
        web.terminate()
    for thread in threads:
        thread.join(timeout=60)
    return web.wait() if web.returncode not in (None, 0, -signal.SIGTERM) else 0


def cmd_demo(args) -> int:
    from app.demo import run_demo

    return run_demo(data_dir=args.data_dir, port=args.port, fault_rate=args.fault_rate, fault_kinds=args.fault_kinds,
                    fault_seed=args.fault_seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resonance", description="Self-hosted music discovery.")
    parser.add_argument("--version", action="version", version=f"resonance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="web UI and all pipelines in one process tree (local use)")
    web = commands.add_parser("web", help="the web UI under gunicorn")
    for sub in (run, web):
        sub.add_argument("--host", help="address to listen on (default: web.host)")
        sub.add_argument("--port", type=int, help="port (default: web.port)")
    run.set_defaults(func=cmd_run)
    web.set_defaults(func=cmd_web)

    job = commands.add_parser("job", help="run one pipeline on its schedule, or once")
    job.add_argument("name", help="lb-fetch, catalog-discovery, library-discovery or slskd-downloader")
    job.add_argument("--once", action="store_true", help="run once now and exit")
    job.add_argument("--between", action="store_true",
                     help="make the job's light check between runs once (slskd-downloader: follow transfers)")
    job.add_argument("--trigger", default="cli", help=argparse.SUPPRESS)  # what asked for the run, for its status
    # Between jobs.standby and the runner it starts (see there).
    job.add_argument("--until-idle", action="store_true", help=argparse.SUPPRESS)
    job.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    job.add_argument("--stopped", action="store_true", help=argparse.SUPPRESS)
    job.set_defaults(func=cmd_job)

    demo = commands.add_parser("demo", help="try Resonance against built-in fake services, no accounts needed")
    demo.add_argument("--data-dir", default="./demo-data", help="where the demo keeps its data (default ./demo-data)")
    demo.add_argument("--port", type=int, default=8080, help="port of the web UI (default 8080)")
    add_fault_arguments(demo)  # a misbehaving world: see app/sandbox/README.md
    demo.set_defaults(func=cmd_demo)

    check = commands.add_parser("check-config", help="validate the settings and say where each comes from")
    check.set_defaults(func=cmd_check_config)
    upgrade = commands.add_parser("upgrade-data", help="bring the data dir to this version's layout (done at "
                                                      "every start; needed by hand only when starting otherwise)")
    upgrade.set_defaults(func=cmd_upgrade_data)
    example = commands.add_parser("example-config", help="print a config file with every key and its default")
    example.set_defaults(func=cmd_example_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
