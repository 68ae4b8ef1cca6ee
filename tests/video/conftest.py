"""The end-to-end video test runs against a real `mindrender serve` (tests/e2e/conftest.py)."""

from tests.e2e.conftest import embedded_service  # noqa: F401 (a fixture)
