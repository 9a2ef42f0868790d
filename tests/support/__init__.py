"""Helpers of the reliability and security suites: a private stack, HTTP helpers, test files."""
