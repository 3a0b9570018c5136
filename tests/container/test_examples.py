"""The deployment examples agree with the code: settings, addresses, timeouts, headers.

No Docker engine runs here; what can go wrong silently (a misspelt setting, a trusted
address that is not the proxy's, a stop timeout shorter than the services need) is checked.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
import yaml
from container.harness import PROJECT_ROOT, S6_RC, SERVICES

from app.config import SETTINGS, load_settings

EXAMPLES = PROJECT_ROOT / "examples"
COMPOSE_FILES = sorted(EXAMPLES.glob("**/docker-compose.yml"))
PROXY_EXAMPLES = {"caddy": "caddy", "nginx": "nginx", "traefik": "traefik"}
KNOWN_ENV = {name for s in SETTINGS for name in s.env_names}
FORWARD_HEADERS = ["Remote-User", "Remote-Groups", "Remote-Name", "Remote-Email"]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def literal(value: str) -> str:
    """A compose value with its ${VAR:-default} interpolations replaced by the defaults."""
    return re.sub(r"\$\{[A-Z_]+(?::?-([^}]*))?(?::?\?[^}]*)?\}", lambda m: m.group(1) or "x", str(value))


def seconds(duration: str) -> int:
    return sum(int(n) * {"s": 1, "m": 60, "h": 3600}[unit] for n, unit in re.findall(r"(\d+)([smh])", duration))


def shutdown_seconds() -> float:
    """The longest chain of timeout-kill s6-rc waits through when bringing the tree down."""
    def chain(service: str) -> float:
        own = int((S6_RC / service / "timeout-kill").read_text(encoding="utf-8")) / 1000
        dependants = [s for s in SERVICES if (S6_RC / s / "dependencies.d" / service).exists()]
        return own + max((chain(d) for d in dependants), default=0)

    return max(chain(service) for service in SERVICES)


def test_it_has_the_four_compose_files():
    assert [p.relative_to(EXAMPLES).as_posix() for p in COMPOSE_FILES] == [
        "caddy/docker-compose.yml", "docker-compose.yml", "nginx/docker-compose.yml", "traefik/docker-compose.yml"]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_it_runs_resonance_the_way_the_image_expects(path):
    compose = load(path)
    resonance = compose["services"]["resonance"]
    assert (path.parent / resonance["build"] / "Dockerfile").resolve() == PROJECT_ROOT / "Dockerfile"
    assert seconds(resonance["stop_grace_period"]) > shutdown_seconds()
    env = resonance["environment"]
    assert {"PUID", "PGID"} <= set(env)
    settings_env = {name: literal(value) for name, value in env.items() if name.startswith("RESONANCE_")}
    assert set(settings_env) <= KNOWN_ENV, set(settings_env) - KNOWN_ENV
    load_settings(env=settings_env)  # every value valid
    targets = {volume.split(":")[1] for volume in resonance["volumes"]}
    assert {"/config", "/data"} <= targets <= {"/config", "/data", "/downloads", "/music"}
    for service in compose["services"].values():
        image = service.get("image", "")
        assert re.search(r":v?\d+\.\d+", image), f"pin the image's version: {image}"


def test_resonance_imports_from_slskds_downloads_into_the_library_navidrome_plays():
    services = load(EXAMPLES / "docker-compose.yml")["services"]

    def mounts(service: str) -> dict[str, str]:
        return {v.split(":")[1]: v.split(":")[0] for v in services[service]["volumes"]}

    resonance, slskd, navidrome = mounts("resonance"), mounts("slskd"), mounts("navidrome")
    assert services["resonance"]["environment"]["RESONANCE_LIBRARY__MODE"] == "import"
    assert resonance["/downloads"] == slskd[services["slskd"]["environment"]["SLSKD_DOWNLOADS_DIR"]]
    assert resonance["/music"] == navidrome["/music"]
    assert "/incomplete" not in resonance  # unfinished files are slskd's alone


def test_it_publishes_resonance_with_basic_sign_in_on_the_home_network():
    resonance = load(EXAMPLES / "docker-compose.yml")["services"]["resonance"]
    assert resonance["ports"] == ["8080:8080"]
    assert resonance["environment"]["RESONANCE_WEB__AUTH"] == "basic"


@pytest.mark.parametrize("example", sorted(PROXY_EXAMPLES))
def test_it_trusts_the_user_header_from_the_proxy_alone(example):
    compose = load(EXAMPLES / example / "docker-compose.yml")
    services = compose["services"]
    resonance = services["resonance"]
    env = resonance["environment"]
    assert "ports" not in resonance, "behind the proxy, Resonance must not be reachable directly"
    assert env["RESONANCE_WEB__AUTH"] == "proxy"
    assert env["RESONANCE_WEB__PROXY_USER_HEADER"] == "Remote-User"
    proxy = services[PROXY_EXAMPLES[example]]
    address = ipaddress.ip_address(proxy["networks"]["proxy"]["ipv4_address"])
    assert env["RESONANCE_WEB__TRUSTED_PROXIES"] == f"{address}/32"
    subnet = ipaddress.ip_network(compose["networks"]["proxy"]["ipam"]["config"][0]["subnet"])
    assert address in subnet
    assert "proxy" in resonance["networks"]
    authelia = services["authelia"]
    assert authelia["image"].startswith("authelia/authelia:4.38")
    assert all(value.startswith("/config/secrets/") for value in authelia["environment"].values())


def test_it_strips_then_sets_the_remote_headers_in_caddy():
    caddyfile = (EXAMPLES / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    site = caddyfile[caddyfile.index("resonance.example.com {"):]
    route = site[site.index("route {"):]
    strip = [route.index(f"request_header -{header}") for header in FORWARD_HEADERS]
    assert max(strip) < route.index("forward_auth authelia:9091") < route.index("reverse_proxy resonance:8080")
    assert "uri /api/authz/forward-auth" in route
    assert f"copy_headers {' '.join(FORWARD_HEADERS)}" in route


def test_it_strips_then_sets_the_remote_headers_in_traefik():
    compose = load(EXAMPLES / "traefik" / "docker-compose.yml")
    authelia = compose["services"]["authelia"]["labels"]
    resonance = compose["services"]["resonance"]["labels"]
    assert authelia["traefik.http.middlewares.authelia.forwardAuth.address"] == \
        "http://authelia:9091/api/authz/forward-auth"
    assert authelia["traefik.http.middlewares.authelia.forwardAuth.authResponseHeaders"].split(",") == FORWARD_HEADERS
    assert resonance["traefik.http.routers.resonance.middlewares"] == "strip-remote-headers,authelia"
    for header in FORWARD_HEADERS:
        assert resonance[f"traefik.http.middlewares.strip-remote-headers.headers.customRequestHeaders.{header}"] == ""
    assert resonance["traefik.http.services.resonance.loadBalancer.server.port"] == "8080"
    network = compose["networks"]["proxy"]["name"]
    assert authelia["traefik.docker.network"] == resonance["traefik.docker.network"] == network


def test_it_mounts_the_nginx_snippets_the_site_includes():
    compose = load(EXAMPLES / "nginx" / "docker-compose.yml")
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in compose["services"]["nginx"]["volumes"]}
    site = (EXAMPLES / "nginx" / "conf.d" / "resonance.conf").read_text(encoding="utf-8")
    for include in re.findall(r"include (/etc/nginx/snippets/[\w.-]+);", site):
        assert (EXAMPLES / "nginx" / mounts["/etc/nginx/snippets"] / Path(include).name).is_file(), include


def test_it_lets_the_household_into_resonance_in_authelia():
    config = load(EXAMPLES / "authelia" / "configuration.yml")
    rules = config["access_control"]["rules"]
    assert config["access_control"]["default_policy"] == "deny"
    assert any(rule["domain"] == "resonance.example.com" and rule["policy"] in ("one_factor", "two_factor")
               for rule in rules)
    assert config["session"]["cookies"][0]["authelia_url"] == "https://auth.example.com"
    users = load(EXAMPLES / "authelia" / "users_database.yml")["users"]
    assert all("household" in user["groups"] for user in users.values())
