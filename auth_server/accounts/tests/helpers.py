def assert_status(response, expected: int) -> None:
    """A status assertion that shows the body when it fails."""
    assert response.status_code == expected, (response.status_code, response.content[:2000])
