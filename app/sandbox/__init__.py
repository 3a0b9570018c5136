"""Fake upstream services for tests, development and benchmarks.

ListenBrainz, MusicBrainz, Cover Art Archive, Last.fm, Subsonic (Navidrome)
and slskd, each a small Flask app on its own port, all seeded from one
catalogue. See ``Sandbox`` for the Python API and ``python -m app.sandbox``
for the command line. The upstream API reference (paths, shapes, errors)
is what each fake follows."""

from app.sandbox.catalogue import Catalogue
from app.sandbox.core import (
    FAULT_KINDS,
    FaultPlan,
    Faults,
    ManualClock,
    RecordedRequest,
    SandboxSettings,
    SystemClock,
)
from app.sandbox.sandbox import SERVICES, Sandbox, start_sandbox

__all__ = [
    "Catalogue", "FAULT_KINDS", "FaultPlan", "Faults", "ManualClock", "RecordedRequest", "SERVICES", "Sandbox",
    "SandboxSettings", "SystemClock", "start_sandbox",
]
