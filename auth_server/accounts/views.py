from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import status
from rest_framework.fields import CharField
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers
from accounts.authentication import AccessTokenAuthentication, bearer_token
from accounts.services import (
    tokens_for_user,
    tokens_refresh,
    user_create,
    user_logout,
    user_update,
)
from accounts.throttling import (
    LoginAddressThrottle,
    LoginFailureThrottle,
    RegisterAccountThrottle,
    RegisterAddressThrottle,
)
from accounts.tokens import jwks
from common.exceptions import ServiceError

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
# Token answers must not be cached (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store"}


class _PublicView(APIView):
    # Ignores the Authorization header entirely: the mobile app sends its stored (possibly stale
    # or empty) one on every call, and these endpoints must not answer it with a 401.
    authentication_classes = []
    permission_classes = [AllowAny]


def _signed_in(user, *, status_code: int) -> Response:
    body = {"user": serializers.UserSerializer(user).data, **tokens_for_user(user=user)}
    return Response(body, status=status_code, headers=NO_STORE)


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class RegisterView(_PublicView):
    throttle_classes = [RegisterAddressThrottle, RegisterAccountThrottle]

    @extend_schema(
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
    def post(self, request):
        serializer = serializers.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_create(**serializer.validated_data)
        return _signed_in(user, status_code=status.HTTP_201_CREATED)


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(_PublicView):
    throttle_classes = [LoginAddressThrottle, LoginFailureThrottle]

    @extend_schema(
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
    def post(self, request):
        serializer = serializers.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=serializer.validated_data["identifier"],
            password=serializer.validated_data["password"],
        )
        failures = LoginFailureThrottle()
        if user is None:
            failures.failure_record(request, self)
            raise ServiceError(
                "No active account found with the given credentials.", code="invalid_credentials"
            )
        failures.failures_forget(request, self)
        return _signed_in(user, status_code=status.HTTP_200_OK)


class RefreshView(_PublicView):
    @extend_schema(
        operation_id="token_refresh",
        description="A new access token for a refresh token (and a new refresh token only when "
        "rotation is switched on). " + IGNORES_HEADER,
        request=serializers.RefreshSerializer,
        responses={200: serializers.RefreshedSerializer, 400: INVALID_GRANT},
        auth=[],
    )
    def post(self, request):
        serializer = serializers.RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = tokens_refresh(refresh=serializer.validated_data["refresh"])
        return Response(tokens, headers=NO_STORE)


@extend_schema_view(
    post=extend_schema(operation_id="refresh", description="Alias of token/refresh/.")
)
class RefreshAliasView(RefreshView):
    pass


class ProfileView(APIView):
    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="profile_retrieve",
        responses={200: serializers.UserSerializer, 401: UNAUTHORIZED},
    )
    def get(self, request):
        return Response(serializers.UserSerializer(request.user).data)

    @extend_schema(
        operation_id="profile_update",
        request=serializers.ProfileSerializer,
        responses={200: serializers.UserSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def put(self, request):
        return self._update(request, partial=False)

    @extend_schema(
        operation_id="profile_partial_update",
        request=serializers.ProfileSerializer(partial=True),
        responses={200: serializers.UserSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def patch(self, request):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        serializer = serializers.ProfileSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        user = user_update(user=request.user, data=serializer.validated_data)
        return Response(serializers.UserSerializer(user).data)


class LogoutView(_PublicView):
    # Reads the Authorization header itself: an expired access token is accepted here, and
    # logout never answers 401 (the app would answer that by refreshing).
    @extend_schema(
        operation_id="logout",
        description="Revokes the refresh token in the body; with no body, a genuine Bearer access "
        "token (even an expired one) revokes all of its user's refresh tokens. Never a 401.",
        auth=[{"jwtAuth": []}, {}],
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
    def post(self, request):
        serializer = serializers.LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_logout(refresh=serializer.validated_data.get("refresh"), access=bearer_token(request))
        return Response(status=status.HTTP_205_RESET_CONTENT)


class JWKSView(_PublicView):
    @extend_schema(
        operation_id="jwks",
        description="The public keys that verify this service's tokens (an empty set while "
        "tokens are signed with the shared HMAC key).",
        responses={200: serializers.JWKSetSerializer},
        auth=[],
    )
    def get(self, request):
        return Response(jwks(), headers={"Cache-Control": "public, max-age=300"})
