"""The Flask web application (pages, JSON API, auth)."""

from __future__ import annotations

from flask import Flask, jsonify

from app import __version__
from app.repository import Repository


def build_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(overrides or {})
    repository = app.config.get("REPOSITORY") or Repository()
    app.extensions["repository"] = repository

    @app.get("/health")
    def health():
        """Liveness for the container: no auth, no secrets."""
        problems = [f"{path.name} was unreadable and moved aside" for path in repository.quarantined_files()]
        return jsonify(status="ok", version=__version__, warnings=problems)

    return app
