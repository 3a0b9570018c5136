"""``python -m jobs NAME [--once]``: an alias of ``resonance job``."""

import sys

from app.launcher import main

if __name__ == "__main__":
    sys.exit(main(["job", *sys.argv[1:]]))
