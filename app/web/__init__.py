"""The Flask web application: pages, JSON API, auth.

Every request goes through the same steps (see ``security`` and ``auth``):
settings for this request, cross-site refusal, authentication, CSRF token,
then a thin handler (parse -> check -> repository -> render), then the
security headers and compression on the way out.

Templates and static files live at the project root (``templates/``,
``static/``); an installed copy finds them under ``<prefix>/share/resonance``.
"""

from __future__ import annotations

import mimetypes
import site
import sys
import threading
from pathlib import Path

from flask import Flask

from app.repository import PENDING_QUEUE, WISHLIST, Repository

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Where an installed copy keeps them (setup.cfg's data_files, the container's COPY); or a --user install.
SHARE_DIR = Path(sys.prefix) / "share" / "resonance"
SHARE_DIRS = (SHARE_DIR, Path(site.getuserbase()) / "share" / "resonance")

# What nearly every page reads; the queue is the one that takes long to parse when large.
WARM_FILES = (PENDING_QUEUE, WISHLIST)
# Without this, the manifest would go out as application/octet-stream (and nosniff).
mimetypes.add_type("application/manifest+json", ".webmanifest")


def asset_dir(name: str) -> Path:
    """``templates`` or ``static``: beside the package in a checkout, else in the install's share dir."""
    for base in (PROJECT_ROOT, *SHARE_DIRS):
        if (base / name).is_dir():
            return base / name
    looked = ", ".join(str(base) for base in (PROJECT_ROOT, *SHARE_DIRS))
    raise RuntimeError(f"Resonance cannot find its {name}/ folder (looked in {looked})")


def build_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(asset_dir("templates")),
        static_folder=str(asset_dir("static")),
        static_url_path="/static",
    )
    app.config.update(
        SETTINGS_TTL=5.0,  # seconds; saved settings are also re-read as soon as settings.json changes
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides or {})
    repository = app.config.get("REPOSITORY") or Repository()
    app.extensions["repository"] = repository
    if app.config.get("KEEP_WARM_SECONDS"):
        repository.keep_warm(WARM_FILES, app.config["KEEP_WARM_SECONDS"], threading.Event(),
                             on_error=lambda file, exc: app.logger.warning("reading %s: %s", file.filename, exc))

    from app.web import (
        api,
        assets,
        auth,
        blocklist,
        context,
        downloads,
        errors,
        history,
        jobs,
        present,
        previews,
        queue,
        security,
        settings,
        welcome,
        wishlist,
    )

    context.init_app(app)
    assets.init_app(app)
    present.init_app(app)
    previews.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    # The order matters: settings, then cross-site refusal, then who is asking, then the CSRF token.
    app.before_request(context.start_timer)
    app.before_request(context.load_request_settings)
    app.before_request(security.refuse_cross_site)
    app.before_request(auth.authenticate)
    app.before_request(security.check_csrf)
    app.after_request(security.add_security_headers)
    for module in (auth, queue, history, wishlist, jobs, settings, welcome, blocklist, downloads, previews, api):
        app.register_blueprint(module.bp)
    # Liveness for the container's HEALTHCHECK: the API's answer, at the path the image asks.
    app.add_url_rule("/health", "health", api.health)
    return app
