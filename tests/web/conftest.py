"""A fresh app per test on a temp data dir, with a client that signs in (flaskr's pattern)."""

from __future__ import annotations

import pytest
import yaml
from websupport import PASSWORD, USER, Client

from app import create_app


@pytest.fixture
def write_config(tmp_path):
    """Write the YAML config file the app reads (RESONANCE_CONFIG points at it)."""

    def write(**sections) -> None:
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(sections), encoding="utf-8")

    return write


@pytest.fixture
def make_app(repository, write_config):
    def make(**web):
        write_config(web={"auth": "basic", "username": USER, "password": PASSWORD, **web})
        app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
        app.test_client_class = Client
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def anonymous(app) -> Client:
    client = app.test_client()
    client.authorization = None
    return client
