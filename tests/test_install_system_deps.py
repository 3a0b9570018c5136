"""scripts/install-system-deps against a stand-in apt-get: it waits for apt's locks instead of failing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-system-deps"
TOOLS = ("sh", "grep", "cat", "sleep", "id", "mktemp", "rm")

# Fails `update` with apt's lock message while the counter is below LOCKED_TRIES, then succeeds;
# records every call.
FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
  *update*)
    n=$(cat "$COUNTER" 2>/dev/null || echo 0)
    echo $((n + 1)) > "$COUNTER"
    if [ "$n" -lt "$LOCKED_TRIES" ]; then
      echo "E: $UPDATE_ERROR" >&2; exit 100
    fi ;;
esac
exit 0
"""


def run_script(tmp_path: Path, *, locked_tries: int, update_error: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:  # only these: chromium, s6-svscan, nginx, ffmpeg and fpcalc must look missing
        (bin_dir / tool).symlink_to(shutil.which(tool))
    fake = bin_dir / "apt-get"
    fake.write_text(FAKE_APT_GET)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    env = {
        "PATH": str(bin_dir), "CALLS": str(calls), "COUNTER": str(tmp_path / "counter"),
        "LOCKED_TRIES": str(locked_tries), "UPDATE_ERROR": update_error, "APT_LOCK_RETRY_SECONDS": "0",
    }
    if os.geteuid() != 0:
        (bin_dir / "sudo").symlink_to(shutil.which("env"))
    result = subprocess.run([str(bin_dir / "sh"), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_it_waits_for_the_package_lists_lock_and_the_dpkg_lock(tmp_path):
    result, calls = run_script(tmp_path, locked_tries=2, update_error=(
        "Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)"))
    assert result.returncode == 0, result.stderr
    assert "waiting for it" in result.stdout
    updates = [call for call in calls if "update" in call]
    installs = [call for call in calls if "install" in call]
    assert len(updates) == 3
    assert len(installs) == 1
    assert "DPkg::Lock::Timeout=" in installs[0]  # install waits for dpkg's lock by itself
    assert "chromium" in installs[0] and "s6" in installs[0]
    assert "ffmpeg" in installs[0] and "libchromaprint-tools" in installs[0]


def test_it_fails_at_once_on_an_error_that_is_not_a_lock(tmp_path):
    result, calls = run_script(tmp_path, locked_tries=5, update_error="Failed to fetch: name resolution failed")
    assert result.returncode != 0
    assert "name resolution failed" in result.stderr
    assert [call for call in calls if "update" in call] == ["-o DPkg::Lock::Timeout=600 update -qq"]
    assert not [call for call in calls if "install" in call]
