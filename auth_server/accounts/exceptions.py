from rest_framework import status
from rest_framework.exceptions import APIException


class InvalidGrant(APIException):
    """A refresh token we will not honour: OAuth 2.0's `invalid_grant` (RFC 6749 §5.2), a 400.

    Never a 401: the mobile app answers any 401 by refreshing again, so a 401 here would loop.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_grant"

    def __init__(self, message: str):
        super().__init__(
            {
                "error": "invalid_grant",
                "detail": message,
                "code": "invalid_grant",
                "message": message,
            }
        )
