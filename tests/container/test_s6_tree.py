"""The s6-overlay service tree is well formed (what s6-rc-compile would refuse, and more)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from container.harness import (
    CONTENV_SHEBANG,
    RUNNERS,
    S6_OVERLAY,
    S6_RC,
    SERVICES,
    longruns,
    service_type,
)

from app import cli
from app.config import SETTINGS_BY_NAME, load_settings

SCRIPTS = S6_OVERLAY / "scripts"
# Provided by s6-overlay itself: its own setup (fix-attrs, legacy cont-init) runs in "base".
OVERLAY_PROVIDED = {"base"}
ATOMIC_TYPES = {"longrun", "oneshot"}


def definitions() -> list[str]:
    return sorted(p.name for p in S6_RC.iterdir() if p.is_dir())


def dependencies(service: str) -> set[str]:
    folder = S6_RC / service / "dependencies.d"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def command_lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_it_gives_every_service_a_known_type():
    for service in definitions():
        assert (S6_RC / service / "type").is_file(), f"{service} has no type"
        assert service_type(service) in ATOMIC_TYPES | {"bundle"}, service


def test_it_lists_exactly_the_five_services_in_the_user_bundle():
    assert service_type("user") == "bundle"
    assert sorted(p.name for p in (S6_RC / "user" / "contents.d").iterdir()) == sorted(SERVICES)
    assert longruns() == sorted(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_it_gives_each_longrun_an_executable_run_script_that_execs(service):
    run = S6_RC / service / "run"
    assert run.is_file() and run.stat().st_mode & 0o111, f"{service}/run is not executable"
    text = run.read_text(encoding="utf-8")
    assert text.splitlines()[0] == CONTENV_SHEBANG, "s6-overlay v3 runs scripts with the container environment this way"
    subprocess.run(["sh", "-n", str(run)], check=True)
    lines = command_lines(text)
    assert lines[0] == "exec 2>&1", "stderr joins stdout: one ordered log"
    # The service replaces the shell, with or without the switch to the runtime user.
    command = "resonance web" if service == "web-ui" else f"resonance job {service}"
    assert lines[-1] == f"exec {command}"
    assert f'exec s6-setuidgid "$run_as" {command}' in lines


@pytest.mark.parametrize("service", SERVICES)
def test_it_reports_crashes_from_each_finish_script(service):
    finish = S6_RC / service / "finish"
    assert finish.is_file() and finish.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(finish)], check=True)
    # One script, five copies: they may differ only in the service's name.
    template = (S6_RC / "lb-fetch" / "finish").read_text(encoding="utf-8")
    assert finish.read_text(encoding="utf-8") == template.replace("lb-fetch", service)


def test_it_makes_every_service_wait_for_the_setup():
    for service in SERVICES:
        assert {"base", "init-resonance"} <= dependencies(service), service
    assert service_type("init-resonance") == "oneshot"
    assert dependencies("init-resonance") == {"base"}


def test_it_starts_slskd_downloader_after_lb_fetch():
    assert "lb-fetch" in dependencies("slskd-downloader")
    assert all("lb-fetch" not in dependencies(s) for s in SERVICES if s != "slskd-downloader")


def test_it_names_only_dependencies_that_exist_and_has_no_cycle():
    known = set(definitions()) | OVERLAY_PROVIDED
    for service in definitions():
        assert dependencies(service) <= known, f"{service} depends on {dependencies(service) - known}"

    def visit(service: str, path: tuple[str, ...]) -> None:
        assert service not in path, f"dependency cycle: {' -> '.join(path + (service,))}"
        for dependency in dependencies(service) - OVERLAY_PROVIDED:
            visit(dependency, path + (service,))

    for service in definitions():
        visit(service, ())


def test_it_runs_the_setup_script_from_the_oneshot():
    # An s6-rc "up" file is one execline command line; the Dockerfile copies s6-overlay/
    # to /etc/s6-overlay/, so the path must name a script of ours.
    up = (S6_RC / "init-resonance" / "up").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"/etc/s6-overlay/scripts/[\w-]+", up), up
    script = SCRIPTS / up.rsplit("/", 1)[1]
    assert script.is_file() and script.stat().st_mode & 0o111
    assert script.read_text(encoding="utf-8").splitlines()[0] == CONTENV_SHEBANG
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_it_gives_each_service_time_to_finish_before_sigkill():
    settings = load_settings(env={})
    command = cli.gunicorn_command(settings)
    graceful_ms = int(command[command.index("--graceful-timeout") + 1]) * 1000
    for service in SERVICES:
        timeout_kill = int((S6_RC / service / "timeout-kill").read_text(encoding="utf-8"))
        assert timeout_kill >= 10_000, f"{service}: a run needs time to finish its item"
    assert int((S6_RC / "web-ui" / "timeout-kill").read_text(encoding="utf-8")) > graceful_ms, \
        "gunicorn must get its graceful timeout before s6 kills it"


def test_it_names_each_runners_interval_variable_in_its_run_script():
    from jobs.runner import INTERVAL_SETTING

    assert set(INTERVAL_SETTING) == set(RUNNERS)
    for job in RUNNERS:
        variable = SETTINGS_BY_NAME[INTERVAL_SETTING[job]].env_aliases[0]
        assert f"Runs every {variable}" in (S6_RC / job / "run").read_text(encoding="utf-8"), job


def test_it_keeps_an_idle_runner_small():
    # An idle runner only schedules: each run happens in a child process. The HTTP stack and
    # OpenSSL (about 2.5 MB each way) load there, not in the three long-lived parents.
    code = ("import sys, app.cli, jobs.runner\n"
            "print(sorted(m for m in ('flask', 'requests', 'ssl', '_hashlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_it_keeps_the_web_stack_out_of_the_runners():
    # What `resonance job NAME` imports, for every runner: its pipeline, never Flask.
    code = ("import sys, app.cli, jobs.runner\n"
            "from app import pipelines\n"
            f"for job in {list(RUNNERS)!r}: pipelines.load(job)\n"
            "print(sorted(m for m in ('flask', 'jinja2', 'werkzeug', 'gunicorn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
