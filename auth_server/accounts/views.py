from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import schema, serializers
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
from common.exceptions import ApplicationError

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
@schema.register
class RegisterView(_PublicView):
    throttle_classes = [RegisterAddressThrottle, RegisterAccountThrottle]

    def post(self, request):
        serializer = serializers.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_create(**serializer.validated_data)
        return _signed_in(user, status_code=status.HTTP_201_CREATED)


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@schema.login
class LoginView(_PublicView):
    throttle_classes = [LoginAddressThrottle, LoginFailureThrottle]

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
            raise ApplicationError(
                "No active account found with the given credentials.", code="invalid_credentials"
            )
        failures.failures_forget(request, self)
        return _signed_in(user, status_code=status.HTTP_200_OK)


@schema.token_refresh
class RefreshView(_PublicView):
    def post(self, request):
        serializer = serializers.RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = tokens_refresh(refresh=serializer.validated_data["refresh"])
        return Response(tokens, headers=NO_STORE)


@schema.refresh_alias
class RefreshAliasView(RefreshView):
    pass


@schema.profile
class ProfileView(APIView):
    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(serializers.UserSerializer(request.user).data)

    def put(self, request):
        return self._update(request, partial=False)

    def patch(self, request):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        serializer = serializers.ProfileSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        user = user_update(user=request.user, data=serializer.validated_data)
        return Response(serializers.UserSerializer(user).data)


@schema.logout
class LogoutView(_PublicView):
    # Reads the Authorization header itself: an expired access token is accepted here, and
    # logout never answers 401 (the app would answer that by refreshing).
    def post(self, request):
        serializer = serializers.LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_logout(refresh=serializer.validated_data.get("refresh"), access=bearer_token(request))
        return Response(status=status.HTTP_205_RESET_CONTENT)


@schema.jwks
class JWKSView(_PublicView):
    def get(self, request):
        return Response(jwks(), headers={"Cache-Control": "public, max-age=300"})
