"""OpenAPI: how drf-spectacular describes the auth service. Each view class carries one of the
decorators below (`@schema.login` on LoginView...); the extension is imported when the app is
ready. The error bodies and the security scheme's name are common.schema's, shared with the
media service."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework.fields import CharField

from accounts import serializers
from common.schema import (
    BEARER_SCHEME,
    SECURITY_SCHEME,
    ErrorSerializer,
    ValidationErrorSerializer,
)


class DeleteWithBodySchema(AutoSchema):
    """drf-spectacular writes request bodies for PUT, PATCH and POST only (OpenAPI leaves a
    DELETE body's meaning to the API); the account deletion is confirmed by the password in its
    body (SPEC.md), so its declared request is written out as for a POST, or a generated client
    could not send it."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class AccessTokenScheme(SimpleJWTScheme):
    # drf-spectacular matches authentication classes exactly, not their subclasses.
    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = SECURITY_SCHEME

    def get_security_definition(self, auto_schema):
        return BEARER_SCHEME


BAD_REQUEST = OpenApiResponse(ValidationErrorSerializer, description="Invalid input.")
UNAUTHORIZED = OpenApiResponse(
    ErrorSerializer, description="Missing, bad, expired or wrong-type access token."
)
THROTTLED = OpenApiResponse(
    ErrorSerializer, description="Throttled; retry after `Retry-After` seconds."
)
INVALID_GRANT = OpenApiResponse(
    serializers.RefreshErrorSerializer,
    description="A bad, expired or revoked refresh token: `error` is `invalid_grant` (never a "
    "401). A malformed body: one list of messages per field.",
)
IGNORES_HEADER = "The Authorization header is ignored."

register = extend_schema_view(
    post=extend_schema(
        operation_id="register",
        description="Creates an account and signs it in. Without `username`, one is derived from "
        "the email address. " + IGNORES_HEADER,
        request=serializers.RegisterSerializer,
        responses={
            201: inline_serializer(
                "Registered",
                {
                    "user": serializers.UserSerializer(),
                    "access": CharField(),
                    "refresh": CharField(),
                },
            ),
            400: BAD_REQUEST,
            429: THROTTLED,
        },
        auth=[],
    )
)

login = extend_schema_view(
    post=extend_schema(
        operation_id="login",
        description="Signs in with `username` + `password` or `email` + `password` (an email "
        "address in `username` works too). " + IGNORES_HEADER,
        request=serializers.LoginSerializer,
        responses={
            200: inline_serializer(
                "SignedIn",
                {
                    "access": CharField(),
                    "refresh": CharField(),
                    "user": serializers.UserSerializer(),
                },
            ),
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="Invalid input, or wrong credentials (`code` `invalid_credentials`; "
                "a 400, not a 401, so the mobile app does not try to refresh).",
            ),
            429: THROTTLED,
        },
        auth=[],
    )
)

token_refresh = extend_schema_view(
    post=extend_schema(
        operation_id="token_refresh",
        description="A new access token for a refresh token (and a new refresh token only when "
        "rotation is switched on). " + IGNORES_HEADER,
        request=serializers.RefreshSerializer,
        responses={200: serializers.RefreshedSerializer, 400: INVALID_GRANT},
        auth=[],
    )
)

# `refresh/` routes to the same view as `token/refresh/`: one operation in the schema.
refresh_alias = extend_schema(exclude=True)

profile = extend_schema_view(
    get=extend_schema(
        operation_id="profile_retrieve",
        responses={200: serializers.UserSerializer, 401: UNAUTHORIZED},
    ),
    put=extend_schema(
        operation_id="profile_update",
        request=serializers.ProfileSerializer,
        responses={200: serializers.UserSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    ),
    patch=extend_schema(
        operation_id="profile_partial_update",
        request=serializers.ProfileSerializer(partial=True),
        responses={200: serializers.UserSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    ),
    delete=extend_schema(
        operation_id="profile_destroy",
        description="Deletes the account, confirmed with its password: every session ends, and "
        "the media service removes all of the user's media, files and derivatives within a "
        "minute. 503 when the job queue cannot take that request (nothing is deleted).",
        request=serializers.AccountDeleteSerializer,
        responses={
            204: OpenApiResponse(description="Deleted; no body."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            429: THROTTLED,
            503: OpenApiResponse(ErrorSerializer, description="Try again later."),
        },
    ),
)

sessions = extend_schema_view(
    get=extend_schema(
        operation_id="sessions_list",
        description="The caller's signed-in devices, last used first; `current` is the one "
        "whose token makes the request.",
        responses={200: serializers.SessionSerializer(many=True), 401: UNAUTHORIZED},
    )
)

session = extend_schema_view(
    delete=extend_schema(
        operation_id="sessions_destroy",
        description="Signs that device out: its refresh token is refused (400 `invalid_grant`), "
        "and its access tokens by the media service within seconds.",
        responses={
            204: OpenApiResponse(description="Signed out; no body."),
            401: UNAUTHORIZED,
            404: OpenApiResponse(ErrorSerializer, description="No such session."),
        },
    )
)

password_change = extend_schema_view(
    post=extend_schema(
        operation_id="password_change",
        description="Changes the password; every other session ends, this one keeps working.",
        request=serializers.PasswordChangeSerializer,
        responses={
            200: serializers.DoneSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            429: THROTTLED,
        },
    )
)

password_reset = extend_schema_view(
    post=extend_schema(
        operation_id="password_reset",
        description="Emails a reset code to the account with this address, if there is one: "
        "the answer is the same either way. " + IGNORES_HEADER,
        request=serializers.PasswordResetSerializer,
        responses={202: serializers.DoneSerializer, 400: BAD_REQUEST, 429: THROTTLED},
        auth=[],
    )
)

password_reset_confirm = extend_schema_view(
    post=extend_schema(
        operation_id="password_reset_confirm",
        description="Sets a new password with the code from the email; every session ends. "
        + IGNORES_HEADER,
        request=serializers.PasswordResetConfirmSerializer,
        responses={200: serializers.DoneSerializer, 400: BAD_REQUEST, 429: THROTTLED},
        auth=[],
    )
)

logout = extend_schema_view(
    post=extend_schema(
        operation_id="logout",
        description="Revokes the refresh token in the body; with no body, a genuine Bearer access "
        "token (even an expired one) revokes all of its user's refresh tokens. Never a 401.",
        # A Bearer token, or none: drf-spectacular takes security requirements, typed as names.
        auth=[{SECURITY_SCHEME: []}, {}],  # type: ignore[list-item]
        request=serializers.LogoutSerializer,
        responses={
            205: OpenApiResponse(description="Logged out; no body."),
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="Nothing usable: no refresh token and no genuine access token, "
                "or a refresh token that is not ours (`detail`); or a malformed body (one list "
                "of messages per field).",
            ),
        },
    )
)

jwks = extend_schema_view(
    get=extend_schema(
        operation_id="jwks",
        description="The public keys that verify this service's tokens (an empty set while "
        "tokens are signed with the shared HMAC key).",
        responses={200: serializers.JWKSetSerializer},
        auth=[],
    )
)
