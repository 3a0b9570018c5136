"""The container's HEALTHCHECK command, ``python -m app.healthcheck``."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from container.harness import free_port
from storage_mounts import read_only
from werkzeug.serving import make_server

from app import create_app
from app.healthcheck import health_url


@pytest.mark.parametrize(("host", "url"), [
    ("0.0.0.0", "http://127.0.0.1:8080/health"),
    ("127.0.0.1", "http://127.0.0.1:8080/health"),
    ("::", "http://[::1]:8080/health"),
    ("192.168.1.20", "http://192.168.1.20:8080/health"),
    ("fd00::20", "http://[fd00::20]:8080/health"),
])
def test_it_asks_where_the_web_ui_listens(host, url):
    assert health_url(host, 8080) == url


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.healthcheck"], env=env, capture_output=True, text=True,
                          timeout=30)


def test_it_is_unhealthy_when_nothing_answers(tmp_path):
    port = free_port()
    result = healthcheck({"RESONANCE_DATA_DIR": str(tmp_path / "data"), "RESONANCE_CONFIG": str(tmp_path / "c.yaml"),
                          "RESONANCE_WEB__PORT": str(port)})
    assert result.returncode == 1
    assert result.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/health did not answer")


def test_it_is_unhealthy_when_the_settings_are_wrong(tmp_path):
    result = healthcheck({"RESONANCE_DATA_DIR": str(tmp_path / "data"), "RESONANCE_CONFIG": str(tmp_path / "c.yaml"),
                          "RESONANCE_WEB__PORT": "eighty"})
    assert result.returncode == 1
    assert "unhealthy: the settings are wrong: web.port" in result.stderr


def test_it_is_unhealthy_with_the_reason_when_the_data_dir_is_read_only(tmp_path, repository, data_dir):
    (tmp_path / "config.yaml").write_text("web: {auth: basic, username: u, password: a long passphrase}\n")
    repository.WRITE_PROBE_SECONDS = 0  # each health question probes the disk again
    app = create_app({"REPOSITORY": repository})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {"RESONANCE_DATA_DIR": str(data_dir), "RESONANCE_CONFIG": str(tmp_path / "config.yaml"),
           "RESONANCE_WEB__HOST": "127.0.0.1", "RESONANCE_WEB__PORT": str(server.server_port)}
    try:
        assert healthcheck(env).returncode == 0
        with read_only(data_dir):
            result = healthcheck(env)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    assert result.returncode == 1
    assert result.stderr.strip() == (f"unhealthy: http://127.0.0.1:{server.server_port}/health answered 503: "
                                     "the data folder is not writable: it is mounted read-only (Read-only file system)")
