"""OpenAPI: how drf-spectacular describes the auth service. Each view class carries one of the
decorators below (`@schema.login` on LoginView...); the extension is imported when the app is
ready."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework.fields import CharField

from accounts import serializers


class AccessTokenScheme(SimpleJWTScheme):
    # drf-spectacular matches authentication classes exactly, not their subclasses.
    target_class = "accounts.authentication.AccessTokenAuthentication"


BAD_REQUEST = OpenApiResponse(serializers.ValidationErrorSerializer, description="Invalid input.")
UNAUTHORIZED = OpenApiResponse(
    serializers.ErrorSerializer, description="Missing, bad, expired or wrong-type access token."
)
THROTTLED = OpenApiResponse(
    serializers.ErrorSerializer, description="Throttled; retry after `Retry-After` seconds."
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
                serializers.ValidationErrorSerializer,
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

refresh_alias = extend_schema_view(
    post=extend_schema(operation_id="refresh", description="Alias of token/refresh/.")
)

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
)

logout = extend_schema_view(
    post=extend_schema(
        operation_id="logout",
        description="Revokes the refresh token in the body; with no body, a genuine Bearer access "
        "token (even an expired one) revokes all of its user's refresh tokens. Never a 401.",
        # A Bearer token, or none: drf-spectacular takes security requirements, typed as names.
        auth=[{"jwtAuth": []}, {}],  # type: ignore[list-item]
        request=serializers.LogoutSerializer,
        responses={
            205: OpenApiResponse(description="Logged out; no body."),
            400: OpenApiResponse(
                serializers.ValidationErrorSerializer,
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
