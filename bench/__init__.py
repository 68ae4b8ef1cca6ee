"""Benchmark scripts that print figures; a package so that they share modules (`python -m bench.NAME`)."""
