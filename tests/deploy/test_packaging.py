"""`make install` builds the package from pyproject.toml: quietly, so a real warning is seen."""

from __future__ import annotations

import warnings

from tests import support


def test_the_package_metadata_reads_without_a_deprecation_warning():
    """setuptools 77 deprecated `license` as a table: `make install` printed the warning on every build."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distribution = apply_configuration(Distribution(), support.ROOT / "pyproject.toml")
    assert distribution.metadata.name == "mindrender"
