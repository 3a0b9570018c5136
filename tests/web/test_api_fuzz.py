"""The API keeps the word its OpenAPI document gives, checked by schemathesis against a real `resonance web`.

One server per sign-in mode (none, basic, api_key, proxy) over a seeded data dir; schemathesis
runs every operation of /api/v1/openapi.json with a fixed seed and a fixed number of examples
(and its coverage phase, every boundary and every way to break each field, in basic mode):
no 5xx, every status and body as documented, schema-valid requests accepted, invalid ones
refused, and (basic, api_key) a request without its credentials refused. Then every route is
asked without credentials and with wrong ones: 401, whatever the route.

More examples, the stateful phase, another seed: bench/fuzz_api.py.
"""

from __future__ import annotations

import base64

import pytest
import requests
from api_fuzzing import API_KEY, PROXY_USER_HEADER, Server

SEED = 19
EXAMPLES = 5  # per operation in the fuzzing phase: ~250 requests per mode
# The coverage phase (boundary values and each way to break each field: ~1,800 requests) runs in one
# mode: what it checks is the same in all four, only the sign-in step differs.
PHASES = {"basic": "examples,coverage,fuzzing"}


@pytest.fixture(scope="module", params=["none", "basic", "api_key", "proxy"])
def server(request, tmp_path_factory):
    with Server(request.param, tmp_path_factory.mktemp(f"fuzz-{request.param}")) as running:
        yield running


def test_it_answers_as_its_document_says(server):
    # Without sign-in (none) or with a header the document cannot declare (proxy), a request
    # without credentials is let in by design: that check applies to basic and api_key.
    checks = () if server.mode in ("basic", "api_key") else ("--exclude-checks", "ignored_auth")
    result = server.schemathesis(examples=EXAMPLES, seed=SEED, phases=PHASES.get(server.mode, "examples,fuzzing"),
                                 extra=checks)
    assert result.returncode == 0, f"{result.stdout[-20000:]}\n{result.stderr[-3000:]}\n{server.server_log()}"
    assert "No issues found" in result.stdout
    assert "Traceback" not in server.server_log()


def _operations(server) -> list[tuple[str, str, bool]]:
    document = requests.get(server.document_url, headers=_signed_in(server), timeout=30).json()
    return [(method.upper(), path.replace("{job}", "lb-fetch"), operation["security"] == [])
            for path, operations in document["paths"].items() for method, operation in operations.items()]


def _signed_in(server) -> dict[str, str]:
    from api_fuzzing import credentials

    return credentials(server.mode)


WRONG = {
    "no credentials": {},
    "wrong password": {"Authorization": "Basic " + base64.b64encode(b"alice:not-the-password").decode()},
    "wrong bearer key": {"Authorization": "Bearer not-the-key"},
    "wrong X-API-Key": {"X-API-Key": "not-the-key"},
    "empty X-API-Key": {"X-API-Key": ""},
}


def test_it_refuses_every_route_without_the_right_credentials(server):
    operations = _operations(server)
    assert len(operations) >= 20
    refused = {}
    for method, path, public in operations:
        for what, headers in WRONG.items():
            if server.mode == "proxy" and what == "wrong password":
                headers = {**headers, PROXY_USER_HEADER: ""}  # the proxy said nobody
            response = requests.request(method, server.url + path, headers=headers, json={}, timeout=30)
            if public or server.mode == "none":  # auth none lets everyone in, whatever they send
                assert response.status_code != 401, (method, path, what)
                continue
            refused[(method, path, what)] = response.status_code
            assert response.status_code == 401, (method, path, what, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
    assert len(refused) >= (0 if server.mode == "none" else 20 * len(WRONG))
    # and the right credentials still get in after all those failures
    assert requests.get(server.url + "/api/v1/queue", headers=_signed_in(server), timeout=30).status_code == 200
    if server.mode == "api_key":
        key_header = {"X-API-Key": API_KEY}
        assert requests.get(server.url + "/api/v1/queue", headers=key_header, timeout=30).status_code == 200
