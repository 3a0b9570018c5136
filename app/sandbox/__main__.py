"""``python -m app.sandbox``: serve the fake services until Ctrl-C or SIGTERM.

Prints the base URLs and credentials as JSON on stdout first, so a script can
read them (``python -m app.sandbox --port-base 9100 | head -1``)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from app.demo import add_fault_arguments
from app.sandbox.core import parse_fault_kinds
from app.sandbox.sandbox import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=0,
                        help="first port; the seven services use N..N+6 (default: free ports)")
    parser.add_argument("--search-seconds", type=float, default=None, help="how long an slskd search runs")
    parser.add_argument("--transfer-seconds", type=float, default=None, help="how long one file download takes")
    parser.add_argument("--size", choices=("small", "bench"), default="small", help="catalogue size")
    parser.add_argument("--subsonic-prefix", default="", help='serve Subsonic under a path prefix, e.g. "/music"')
    add_fault_arguments(parser)
    args = parser.parse_args(argv)

    overrides = {"subsonic_prefix": args.subsonic_prefix}
    if args.search_seconds is not None:
        overrides["slskd_search_seconds"] = args.search_seconds
    if args.transfer_seconds is not None:
        overrides["slskd_transfer_seconds"] = args.transfer_seconds
    sandbox = Sandbox(size=args.size, host=args.host, port_base=args.port_base, **overrides)
    try:
        kinds = parse_fault_kinds(args.fault_kinds)
    except ValueError as exc:
        parser.error(str(exc))
    sandbox.inject_faults(args.fault_rate, kinds, seed=args.fault_seed)

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    sandbox.start()
    try:
        print(json.dumps(sandbox.describe(), ensure_ascii=False), flush=True)
        print("serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        while not done.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
