"""Resonance: finds albums worth owning and fetches them.

This module stays import-light on purpose: the job runners import
``app.repository`` and friends, and must not pull Flask in with them.
"""

__version__ = "0.1.0"


def create_app(overrides=None):
    """Build the Flask web application (see ``app.web``)."""
    from app.web import build_app

    return build_app(overrides)


def create_served_app():
    """The app as gunicorn serves it: each worker (built after the fork) keeps the big
    data files parsed in the background, so a page load after a pipeline wrote them
    does not pay for the parse."""
    from app.web import build_app

    return build_app({"KEEP_WARM_SECONDS": 1.0})
