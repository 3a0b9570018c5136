"""The ``resonance`` command. A job's service (``resonance job NAME``) is its standby, which stays
small (jobs.standby); everything else is app.cli, imported only then."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 2 and argv[0] == "job" and not argv[1].startswith("-"):
        from jobs.standby import serve

        return serve(argv[1])
    from app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
