"""The flow language: schema, loader and checks, the pure engine, bundled scripts.

Pure: no network, no database, no platform SDK, and the clock is passed in. The engine lives in
`flows.engine`; this module exports the loader API and the exceptions.
"""

from __future__ import annotations

from .errors import FlowError, FlowValidationError, Problem, SessionClosed, SessionMismatch
from .loader import bundled_path, load_bundled, load_flow, parse_flow
from .model import Flow
from .session import Session

__all__ = [
    "Flow",
    "FlowError",
    "FlowValidationError",
    "Problem",
    "Session",
    "SessionClosed",
    "SessionMismatch",
    "bundled_path",
    "load_bundled",
    "load_flow",
    "parse_flow",
]
