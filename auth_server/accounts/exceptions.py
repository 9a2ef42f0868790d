from common.exceptions import ApplicationError


class InvalidGrant(ApplicationError):
    """A refresh token we will not honour: OAuth 2.0's `invalid_grant` (RFC 6749 §5.2), a 400
    whose body carries `error` beside `detail`, `code` and `message`.

    Never a 401: the mobile app answers any 401 by refreshing again, so a 401 here would loop.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_grant", extra={"error": "invalid_grant"})
