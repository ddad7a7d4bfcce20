"""Suite-wide options and fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fakes.clock import Clock
from tests.fakes.line_api import FakeLine

# Property-based fuzzing (tests/hardening/test_fuzz.py): a short run in CI, a long one nightly with
# `pytest --hypothesis-profile=long tests/hardening`. No deadline: a request's time depends on the
# machine, and the property is about answers, not speed.
_FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
             derandomize=False, print_blob=True)
settings.register_profile("default", max_examples=40, **_FUZZ)
settings.register_profile("long", max_examples=3000, **_FUZZ)
settings.load_profile("default")

# Fixtures shared across folders: the two storage backends and the browser.
pytest_plugins = ["tests.backends", "tests.browser"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (transcripts, explain/coverage output) instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake_line():
    line = await FakeLine().start()
    yield line
    await line.close()


@pytest.fixture
def screenshots(update_golden: bool, tmp_path: Path) -> Path:
    """Where browser tests save their screenshots: docs/screenshots with --update-golden (the
    README and docs show them), otherwise a temporary folder, so a test run changes no file."""
    folder = Path(__file__).resolve().parents[1] / "docs" / "screenshots" if update_golden else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
