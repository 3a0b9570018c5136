"""Where the data dir is, and the names the standby of a job (jobs.standby) needs without the repository.

Standard library only: the standby of each job's service imports this and nothing heavier.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "RESONANCE_DATA_DIR"
DEFAULT_DATA_DIR = "./data"
#: The file in which the web UI asks a job's runner for a run ("Run now").
RUN_REQUESTS_FILE = "run_requests.json"


def data_dir_from_env() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def file_version(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of a file from the next (every write is a rename); None when absent."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)
