"""Helpers shared by test suites (see tests/support/sandbox.py)."""
