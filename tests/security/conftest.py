"""Fixtures for the security and operations tests: the pages' logged-in browser (`browse`)."""
from tests.pages.conftest import browse  # noqa: F401  (re-exported fixture)

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# tests/api's helpers are imported by name there (pytest puts tests/api on sys.path when it collects
# it); the API matrix is imported from here too, so the same holds when tests/security runs alone.
_API_TESTS = str(Path(__file__).resolve().parents[1] / "api")
if _API_TESTS not in sys.path:
    sys.path.insert(0, _API_TESTS)
