"""Resonance: finds albums worth owning and fetches them.

This module stays import-light on purpose: the job runners import
``app.repository`` and friends, and must not pull Flask in with them.
"""

__version__ = "0.1.0"


def create_app(overrides=None):
    """Build the Flask web application (see ``app.web``)."""
    from app.web import build_app

    return build_app(overrides)
