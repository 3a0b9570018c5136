"""A longer schemathesis run against a real `resonance web` (figures and failures, not a test).

The same server and seeded data dir as tests/web/test_api_fuzz.py (tests/api_fuzzing.py),
in each sign-in mode or one, with more examples per operation, any seed, and the stateful
phase (it follows the document's links from list routes to item routes). Prints, per mode,
the cases generated, the failures schemathesis found and the time taken; the full report of
a failing mode goes to its folder (kept with --keep).

    python bench/fuzz_api.py [--examples 200] [--seed 7] [--mode basic] [--keep]
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from api_fuzzing import MODES, Server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per operation (default 200)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000, help="default: from the clock")
    parser.add_argument("--mode", choices=MODES, action="append", help="sign-in mode (default: all four)")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--keep", action="store_true", help="keep each mode's folder (data dir, server log)")
    args = parser.parse_args()
    failed = False
    print(f"seed {args.seed}, {args.examples} examples per operation, phases {args.phases}")
    for mode in args.mode or MODES:
        folder = Path(tempfile.mkdtemp(prefix=f"resonance-fuzz-{mode}-"))
        result = None
        try:
            with Server(mode, folder) as server:
                checks = () if mode in ("basic", "api_key") else ("--exclude-checks", "ignored_auth")
                started = time.monotonic()
                result = server.schemathesis(examples=args.examples, seed=args.seed, phases=args.phases, extra=checks)
                seconds = time.monotonic() - started
                (folder / "schemathesis.txt").write_text(result.stdout + result.stderr)
            cases = re.search(r"(\d+) generated", result.stdout)
            print(f"{mode:8} {cases.group(1) if cases else '?':>6} cases in {seconds:5.1f} s "
                  f"({(int(cases.group(1)) / seconds) if cases else 0:5.1f}/s): "
                  + ("no failures" if result.returncode == 0 else f"FAILURES, see {folder / 'schemathesis.txt'}"))
            if result.returncode != 0:
                failed = True
                summary = result.stdout[result.stdout.rfind("Failures:"):].splitlines()
                print("\n".join(f"         {line}" for line in summary[1:8] if line.strip()))
        finally:
            if not args.keep and result is not None and result.returncode == 0:
                shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
