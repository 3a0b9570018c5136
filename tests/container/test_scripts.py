"""The run scripts and init-resonance, run for real (as s6 would, minus s6).

A stand-in ``resonance`` command on PATH reports who ran it and as which process, so the
tests see the switch to the runtime user and that nothing is left between s6 and the
service. The user switch needs root; as root on a test machine the runtime user is
``nobody``, whose ids the tests give as PUID/PGID so no account is changed.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from container.harness import INIT_SCRIPT, S6_RC, SERVICES, VENV_BIN, plain_s6_script

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="switching users needs root (CI runs as root)")
NOBODY = pwd.getpwnam("nobody")

STAND_IN = """#!/bin/sh
echo "uid=$(id -u) gid=$(id -g) pid=$$ args=$*"
"""


@pytest.fixture
def world_dir():
    """A temp dir other users can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="resonance-container-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stand_in_bin(world_dir) -> Path:
    folder = world_dir / "bin"
    folder.mkdir()
    (folder / "resonance").write_text(STAND_IN, encoding="utf-8")
    (folder / "resonance").chmod(0o755)
    return folder


def script_env(world_dir: Path, path_first: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{path_first}:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "RESONANCE_DATA_DIR": str(world_dir / "data"),
        "RESONANCE_CONFIG": str(world_dir / "config.yaml"),
        **extra,
    }


def run_service_script(service: str, folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    script = folder / f"{service}.run"
    script.write_text(plain_s6_script((S6_RC / service / "run").read_text(encoding="utf-8")), encoding="utf-8")
    script.chmod(0o755)
    process = subprocess.Popen([str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = process.communicate(timeout=20)
    return process, out


@pytest.mark.parametrize("service", SERVICES)
def test_it_starts_each_service_as_the_runtime_user_in_place_of_the_shell(service, world_dir, stand_in_bin):
    env = script_env(world_dir, stand_in_bin, RESONANCE_RUN_AS="nobody")
    process, out = run_service_script(service, world_dir, env)
    uid = NOBODY.pw_uid if IS_ROOT else os.getuid()
    args = "web" if service == "web-ui" else f"job {service}"
    # Same pid: the shell exec'd s6-setuidgid, which exec'd the service.
    assert out.strip() == f"uid={uid} gid={NOBODY.pw_gid if IS_ROOT else os.getgid()} pid={process.pid} args={args}"
    assert process.returncode == 0


@pytest.mark.parametrize("service", SERVICES)
def test_it_keeps_the_current_user_when_told_to(service, world_dir, stand_in_bin):
    env = script_env(world_dir, stand_in_bin, RESONANCE_RUN_AS="")
    process, out = run_service_script(service, world_dir, env)
    assert out.startswith(f"uid={os.getuid()} gid={os.getgid()} pid={process.pid} ")


def run_init(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_it_creates_the_data_dir_and_checks_the_settings(world_dir):
    result = run_init(script_env(world_dir, VENV_BIN, RESONANCE_RUN_AS=""))
    assert result.returncode == 0, result.stderr
    assert (world_dir / "data").is_dir()
    assert "Settings are valid" in result.stdout
    assert f"no config file at {world_dir / 'config.yaml'}" in result.stdout


def test_it_stops_the_container_with_the_reason_when_a_setting_is_wrong(world_dir):
    result = run_init(script_env(world_dir, VENV_BIN, RESONANCE_RUN_AS="", RESONANCE_WEB__PORT="eighty"))
    assert result.returncode == 1
    assert "web.port: Not a valid integer. (got 'eighty') [from env:RESONANCE_WEB__PORT]" in result.stderr
    assert "[init-resonance] the settings are wrong (above)" in result.stderr
    assert "[init-resonance] the container stops here" in result.stderr


def test_it_stops_the_container_when_the_config_file_has_a_typo(world_dir):
    (world_dir / "config.yaml").write_text("web:\n  prot: 8080\n", encoding="utf-8")
    result = run_init(script_env(world_dir, VENV_BIN, RESONANCE_RUN_AS=""))
    assert result.returncode == 1
    assert f"web.prot: not a Resonance setting [from {world_dir / 'config.yaml'}]" in result.stderr


@needs_root
def test_it_refuses_ids_that_are_not_numbers(world_dir, stand_in_bin):
    result = run_init(script_env(world_dir, stand_in_bin, RESONANCE_RUN_AS="nobody", PUID="abc"))
    assert result.returncode == 1
    assert "PUID must be a number" in result.stderr


@needs_root
def test_it_refuses_a_runtime_user_that_does_not_exist(world_dir, stand_in_bin):
    result = run_init(script_env(world_dir, stand_in_bin, RESONANCE_RUN_AS="no-such-user-here"))
    assert result.returncode == 1
    assert "the runtime user 'no-such-user-here' does not exist" in result.stderr


@needs_root
def test_it_hands_the_data_dir_to_puid_and_pgid_and_checks_the_settings_as_that_user(world_dir, stand_in_bin):
    data = world_dir / "data"
    (data / ".locks").mkdir(parents=True)
    (data / "settings.json").write_text("{}", encoding="utf-8")  # left by a `docker exec` as root
    (data / ".locks" / "settings.json.lock").touch()
    env = script_env(world_dir, stand_in_bin, RESONANCE_RUN_AS="nobody",
                     PUID=str(NOBODY.pw_uid), PGID=str(NOBODY.pw_gid))
    result = run_init(env)
    assert result.returncode == 0, result.stderr
    for path in (data, data / ".locks", data / "settings.json", data / ".locks" / "settings.json.lock"):
        assert (path.stat().st_uid, path.stat().st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid), path
    assert f"running the services as nobody (uid {NOBODY.pw_uid}, gid {NOBODY.pw_gid})" in result.stdout
    assert f"uid={NOBODY.pw_uid} gid={NOBODY.pw_gid}" in result.stdout
    assert "args=check-config" in result.stdout


def free_id(taken: set[int], start: int) -> int:
    return next(n for n in range(start, 60000) if n not in taken)


@needs_root
def test_it_gives_the_runtime_user_puid_and_pgid(world_dir, stand_in_bin):
    """The usermod/groupmod path, on an account that exists only in a private copy of /etc.

    ``unshare -m`` gives the test its own mount namespace, where a copy of /etc is mounted
    over the real one: the image's user is created there, init-resonance changes its ids,
    and this machine's accounts are never touched.
    """
    uids, gids = {u.pw_uid for u in pwd.getpwall()}, {g.gr_gid for g in grp.getgrall()}
    old_uid, old_gid = free_id(uids, 3100), free_id(gids, 3100)
    new_uid = free_id(uids | {old_uid}, 3200)
    new_gid = grp.getgrnam("users").gr_gid  # taken already: needs groupmod -o, like many hosts' 100
    data = world_dir / "data"
    data.mkdir()
    (data / "pending_queue.json").write_text("{}", encoding="utf-8")
    os.chown(data / "pending_queue.json", old_uid, old_gid)  # written under the old ids
    env = script_env(world_dir, stand_in_bin, RESONANCE_RUN_AS="resonance-test",
                     PUID=str(new_uid), PGID=str(new_gid))
    script = f"""set -e
cp -a /etc {world_dir}/etc && mount --bind {world_dir}/etc /etc
groupadd --gid {old_gid} resonance-test
useradd --uid {old_uid} --gid resonance-test --home-dir {data} --no-create-home --shell /usr/sbin/nologin resonance-test
sh {shlex.quote(str(INIT_SCRIPT))}
sh {shlex.quote(str(INIT_SCRIPT))}
echo "account: $(id -u resonance-test) $(id -g resonance-test)"
"""
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"account: {new_uid} {new_gid}" in result.stdout
    assert result.stdout.count(f"running the services as resonance-test (uid {new_uid}, gid {new_gid})") == 2
    assert f"uid={new_uid} gid={new_gid}" in result.stdout and "args=check-config" in result.stdout
    for path in (data, data / "pending_queue.json"):
        assert (path.stat().st_uid, path.stat().st_gid) == (new_uid, new_gid), path
    with pytest.raises(KeyError):
        pwd.getpwnam("resonance-test")  # nothing leaked out of the namespace
