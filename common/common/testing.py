"""Helpers for the services' test suites (and common's own)."""

from typing import Any


def assert_status(response: Any, expected: int) -> None:
    """A status assertion that shows the body when it fails."""
    body = getattr(response, "data", None)
    if body is None and not getattr(response, "streaming", False):
        body = response.content[:2000]
    assert response.status_code == expected, f"{response.status_code} != {expected}: {body}"
