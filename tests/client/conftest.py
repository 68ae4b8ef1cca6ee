"""The CLI runs against a real `mindrender serve` (tests/e2e/conftest.py), one for the module's tests."""

from tests.e2e.conftest import embedded_service  # noqa: F401 (a fixture)
