"""The nginx example for real: Debian's nginx, a stand-in Authelia, Resonance under gunicorn.

nginx runs the example's own snippets and ``location /`` block (examples/nginx/), with the
upstream names pointed at local ports. It reaches Resonance from 127.0.0.2 (``proxy_bind``,
standing in for the proxy container's fixed address), the one address Resonance trusts;
the tests themselves talk to Resonance from 127.0.0.1, like any other machine would.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from container.harness import PROJECT_ROOT, VENV_BIN, free_port, wait_for
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

EXAMPLE = PROJECT_ROOT / "examples" / "nginx"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROXY_ADDRESS = "127.0.0.2"
SESSION = "authelia_session=signed-in-alice"
PORTAL = "https://auth.example.com/"


class StandInAuthelia:
    """Authelia's auth-request endpoint, as nginx sees it: 200 + Remote-* for a signed-in
    session cookie, else 401 + the portal in Location."""

    def __init__(self):
        self.asked: list[dict] = []
        self.server = make_server("127.0.0.1", 0, self.app)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @Request.application
    def app(self, request: Request) -> Response:
        self.asked.append({"path": request.path, "original_url": request.headers.get("X-Original-URL"),
                           "method": request.headers.get("X-Original-Method")})
        if request.path != "/api/authz/auth-request":
            return Response("not found", 404)
        if request.headers.get("Cookie", "").find(SESSION) >= 0:
            return Response("", 200, headers={"Remote-User": "alice", "Remote-Groups": "household",
                                              "Remote-Name": "Alice", "Remote-Email": "alice@example.com"})
        target = request.headers.get("X-Original-URL", "")
        return Response("", 401, headers={"Location": f"{PORTAL}?rd={quote(target, safe='')}"})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def location_block(conf: str) -> str:
    """The ``location / { ... }`` of the Resonance server in conf.d/resonance.conf."""
    start = conf.index("location / {")
    depth, end = 0, start
    for end in range(start, len(conf)):
        depth += {"{": 1, "}": -1}.get(conf[end], 0)
        if conf[end] == "}" and depth == 0:
            break
    return conf[start:end + 1]


def nginx_config(tmp: Path, port: int, authelia_port: int, resonance_port: int) -> Path:
    """The example, with its upstreams on local ports and every path in ``tmp``."""
    snippets = tmp / "snippets"
    snippets.mkdir()
    for snippet in (EXAMPLE / "snippets").glob("*.conf"):
        text = snippet.read_text(encoding="utf-8").replace("http://authelia:9091", f"http://127.0.0.1:{authelia_port}")
        (snippets / snippet.name).write_text(text, encoding="utf-8")
    site = (EXAMPLE / "conf.d" / "resonance.conf").read_text(encoding="utf-8")
    location = location_block(site).replace("/etc/nginx/snippets/", f"{snippets}/")
    location = location.replace("proxy_pass http://resonance:8080;",
                                f"proxy_bind {PROXY_ADDRESS};\n        proxy_pass http://127.0.0.1:{resonance_port};")
    assert f"proxy_pass http://127.0.0.1:{resonance_port}" in location, "the example's proxy_pass changed"
    auth_location = re.search(r"include /etc/nginx/snippets/authelia-location.conf;", site)
    assert auth_location, "the example no longer includes authelia-location.conf"
    user = "user root;" if Path("/proc/self").owner() == "root" else ""
    config = tmp / "nginx.conf"
    config.write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} default_server;
        server_name resonance.example.com;
        include {snippets}/authelia-location.conf;
        {location}
    }}
}}
""", encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nginx-proxy")


# One Resonance, one stand-in and one nginx for the whole module: none of them keeps state
# that one test could leave for the next.
@pytest.fixture(scope="module")
def resonance(module_tmp):
    """Resonance under gunicorn in proxy mode, trusting only the proxy's address."""
    tmp_path = module_tmp
    port = free_port()
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "RESONANCE_DATA_DIR": str(tmp_path / "data"),
        "RESONANCE_CONFIG": str(tmp_path / "config.yaml"),
        "RESONANCE_WEB__AUTH": "proxy",
        "RESONANCE_WEB__PROXY_USER_HEADER": "Remote-User",
        "RESONANCE_WEB__TRUSTED_PROXIES": f"{PROXY_ADDRESS}/32",
        "RESONANCE_WEB__WORKERS": "1",
        "GUNICORN_CMD_ARGS": "--no-control-socket",
    }
    log_path = tmp_path / "resonance.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(VENV_BIN / "resonance"), "web", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=20,
                 what=f"Resonance's /health\n{log_path.read_text(errors='replace')}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="module")
def authelia():
    with StandInAuthelia() as stand_in:
        yield stand_in


@contextlib.contextmanager
def running_nginx(folder: Path, authelia_port: int, upstream_port: int):
    """nginx with the example's config in ``folder``, in front of ``upstream_port``; its base URL."""
    assert Path(NGINX).exists(), "nginx missing: install Debian's nginx (scripts/install-system-deps)"
    folder.mkdir()
    port = free_port()
    config = nginx_config(folder, port, authelia_port, upstream_port)
    options = ["-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)]
    check = subprocess.run([NGINX, "-t", "-q", *options], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([NGINX, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _listening(port), timeout=10, what="nginx listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()  # nginx's fast shutdown; the master takes its worker with it
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def nginx(module_tmp, authelia, resonance):
    with running_nginx(module_tmp / "nginx", authelia.port, int(resonance.rsplit(":", 1)[1])) as url:
        yield url


@pytest.fixture(scope="module")
def nginx_to_echo(module_tmp, authelia):
    """The same nginx in front of an app that answers with what reached it."""
    @Request.application
    def echo(request: Request) -> Response:
        return Response(json.dumps({"peer": request.remote_addr, "user": request.headers.get("Remote-User"),
                                    "groups": request.headers.get("Remote-Groups")}), mimetype="application/json")

    server = make_server("127.0.0.1", 0, echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with running_nginx(module_tmp / "nginx-echo", authelia.port, server.server_port) as url:
            yield url
    finally:
        server.shutdown()
        server.server_close()


def _listening(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2, allow_redirects=False)
        return True
    except requests.ConnectionError:
        return False


def through_nginx(nginx: str, path: str = "/", session: bool = True, **headers: str) -> requests.Response:
    if session:
        headers["Cookie"] = SESSION
    return requests.get(f"{nginx}{path}", headers={"Host": "resonance.example.com", **headers}, timeout=10,
                        allow_redirects=False)


def follow(nginx: str, response: requests.Response, **headers: str) -> requests.Response:
    """Follow Resonance's own redirects (relative, or to the Host nginx passed on) through nginx."""
    for _ in range(5):
        if response.status_code not in (301, 302, 303, 307, 308):
            return response
        location = response.headers["Location"]
        path = re.sub(r"^https?://resonance\.example\.com", "", location)
        assert path.startswith("/"), f"redirected away: {location}"
        response = through_nginx(nginx, path, **headers)
    return response


def test_it_sends_a_visitor_without_a_session_to_the_portal(nginx, authelia):
    response = through_nginx(nginx, "/queue?sort=score", session=False)
    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"{PORTAL}?rd={quote('http://resonance.example.com/queue?sort=score', safe='')}")
    assert authelia.asked[-1]["original_url"] == "http://resonance.example.com/queue?sort=score"
    assert authelia.asked[-1]["method"] == "GET"


def test_it_passes_authelias_user_on_and_never_the_clients(nginx_to_echo):
    # What reaches the upstream, whatever the client claims.
    signed_in = through_nginx(nginx_to_echo, "/", **{"Remote-User": "mallory", "Remote-Groups": "admins"}).json()
    assert signed_in == {"peer": PROXY_ADDRESS, "user": "alice", "groups": "household"}
    assert through_nginx(nginx_to_echo, "/", session=False, **{"Remote-User": "mallory"}).status_code == 302


def test_it_lets_a_signed_in_user_in_and_shows_who_it_is(nginx):
    response = follow(nginx, through_nginx(nginx, "/"))
    assert response.status_code == 200, response.text[:500]
    assert "alice" in response.text


def test_it_ignores_a_user_header_forged_through_the_proxy(nginx):
    response = follow(nginx, through_nginx(nginx, "/", **{"Remote-User": "mallory"}), **{"Remote-User": "mallory"})
    assert response.status_code == 200
    assert "alice" in response.text and "mallory" not in response.text
    refused = through_nginx(nginx, "/", session=False, **{"Remote-User": "mallory"})
    assert refused.status_code == 302 and refused.headers["Location"].startswith(PORTAL)


@pytest.mark.parametrize("headers", [
    {"Remote-User": "alice"},
    {"Remote-User": "alice", "X-Forwarded-For": PROXY_ADDRESS, "X-Real-IP": PROXY_ADDRESS},
], ids=["forged-user", "forged-user-and-forwarding-headers"])
def test_it_refuses_the_user_header_from_anywhere_but_the_proxy(resonance, headers):
    response = requests.get(f"{resonance}/", headers=headers, timeout=10, allow_redirects=False)
    assert response.status_code in (401, 403)
    assert "alice" not in response.text
