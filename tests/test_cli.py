import signal
import socket
import subprocess
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, timeout: float = 20.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_it_runs_the_web_app_and_stops_on_sigterm(python, subprocess_env, data_dir):
    port = free_port()
    process = subprocess.Popen([python, "-m", "app.cli", "run", "--port", str(port)], env=subprocess_env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        response = wait_for_health(f"http://127.0.0.1:{port}/health")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert f"running on http://127.0.0.1:{port}" in out


def test_it_reports_moved_aside_files_on_health(repository, data_dir):
    from app import create_app

    data_dir.mkdir()
    (data_dir / "processed.json").write_text("[1, 2,")
    repository.processed()  # the read moves it aside
    client = create_app({"REPOSITORY": repository}).test_client()
    body = client.get("/health").get_json()
    assert body["status"] == "ok"
    assert body["warnings"] == [f"{repository.quarantined_files()[0].name} was unreadable and moved aside"]


def test_it_checks_the_config(python, subprocess_env):
    good = subprocess.run([python, "-m", "app.cli", "check-config"], env=subprocess_env, capture_output=True, text=True)
    assert good.returncode == 0 and "Settings are valid" in good.stdout
    bad = subprocess.run([python, "-m", "app.cli", "check-config"], env={**subprocess_env, "RESONANCE_WEB__AUTH": "magic"},
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "web.auth: Must be one of: basic, api_key, proxy, none." in bad.stderr


def test_it_says_when_the_port_is_taken_instead_of_starting_gunicorn(python, subprocess_env):
    with socket.socket() as listener:  # another program on the port
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        run = subprocess.run([python, "-m", "app.cli", "run", "--port", str(port)], env=subprocess_env,
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 3
    assert f"port {port} on 127.0.0.1 is in use by another program" in run.stderr
    assert "resonance run --port" in run.stderr and "Traceback" not in run.stderr
