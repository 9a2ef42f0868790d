from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import schema, serializers
from accounts.authentication import AccessTokenAuthentication, bearer_token
from accounts.selectors import session_list
from accounts.services import (
    password_change,
    password_reset_confirm,
    password_reset_request,
    session_end,
    tokens_refresh,
    user_create,
    user_delete,
    user_logout,
    user_update,
)
from accounts.sessions import client_address, session_start
from accounts.throttling import (
    LoginAddressThrottle,
    LoginFailureThrottle,
    PasswordCheckAccountThrottle,
    PasswordCheckAddressThrottle,
    PasswordResetAccountThrottle,
    PasswordResetAddressThrottle,
    PasswordResetConfirmThrottle,
    ProfileWriteThrottle,
    RegisterAccountThrottle,
    RegisterAddressThrottle,
)
from accounts.tokens import jwks, session_id_claim
from common.exceptions import ApplicationError

# Token answers must not be cached (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store"}


class _PublicView(APIView):
    # Ignores the Authorization header entirely: the mobile app sends its stored (possibly stale
    # or empty) one on every call, and these endpoints must not answer it with a 401.
    authentication_classes = []
    permission_classes = [AllowAny]


def _signed_in(request, user, *, device_name: str | None, status_code: int) -> Response:
    tokens = session_start(
        user=user,
        device_name=device_name,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=client_address(request),
    )
    body = {"user": serializers.UserSerializer(user).data, **tokens}
    return Response(body, status=status_code, headers=NO_STORE)


def _done(message: str, *, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"detail": message, "message": message}, status=status_code)


def _current_session_id(request) -> str | None:
    # The Bearer token was verified by the authentication class, its `sid` with it.
    return session_id_claim(request.auth)


class _SignedInView(APIView):
    authentication_classes = [AccessTokenAuthentication]
    permission_classes = [IsAuthenticated]


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@schema.register
class RegisterView(_PublicView):
    throttle_classes = [RegisterAddressThrottle, RegisterAccountThrottle]

    def post(self, request):
        serializer = serializers.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        device_name = fields.pop("device_name", None)
        user = user_create(**fields)
        return _signed_in(
            request, user, device_name=device_name, status_code=status.HTTP_201_CREATED
        )


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@schema.login
class LoginView(_PublicView):
    # The failed sign-in throttle is asked in post(), where it counts the attempt (under a
    # lock) as it checks it.
    throttle_classes = [LoginAddressThrottle]

    def post(self, request):
        serializer = serializers.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        failures = LoginFailureThrottle()
        # Counted as a failure before the password is checked (and forgotten if it is right):
        # attempts sent together must not all pass the throttle while their checks run.
        if not failures.attempt_reserve(request, self):
            self.throttled(request, failures.wait())
        user = authenticate(
            request,
            username=serializer.validated_data["identifier"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise ApplicationError(
                "No active account found with the given credentials.", code="invalid_credentials"
            )
        failures.failures_forget(request, self)
        return _signed_in(
            request,
            user,
            device_name=serializer.validated_data["device_name"],
            status_code=status.HTTP_200_OK,
        )


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
class ProfileView(_SignedInView):
    schema = schema.DeleteWithBodySchema()

    def get_throttles(self):
        # Deleting the account checks the password: limited like a password change.
        if self.request.method == "DELETE":
            return [PasswordCheckAddressThrottle(), PasswordCheckAccountThrottle()]
        if self.request.method in ("PUT", "PATCH"):
            return [ProfileWriteThrottle()]
        return super().get_throttles()

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

    def delete(self, request):
        serializer = serializers.AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_delete(user=request.user, password=serializer.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@schema.sessions
class SessionListView(_SignedInView):
    def get(self, request):
        context = {"session_id": _current_session_id(request)}
        sessions = session_list(user_id=request.user.pk)
        return Response(serializers.SessionSerializer(sessions, many=True, context=context).data)


@schema.session
class SessionView(_SignedInView):
    def delete(self, request, session_id):
        session_end(user=request.user, session_id=str(session_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(sensitive_post_parameters("old_password", "new_password"), name="dispatch")
@schema.password_change
class PasswordChangeView(_SignedInView):
    throttle_classes = [PasswordCheckAddressThrottle, PasswordCheckAccountThrottle]

    def post(self, request):
        serializer = serializers.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_change(
            user=request.user,
            session_id=_current_session_id(request),
            **serializer.validated_data,
        )
        return _done("Your password has been changed; your other devices are signed out.")


@schema.password_reset
class PasswordResetView(_PublicView):
    throttle_classes = [PasswordResetAddressThrottle, PasswordResetAccountThrottle]

    def post(self, request):
        serializer = serializers.PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_request(email=serializer.validated_data["email"])
        return _done(
            "If an account has this email address, a message with a reset code is on its way.",
            status_code=status.HTTP_202_ACCEPTED,
        )


@method_decorator(sensitive_post_parameters("new_password", "token"), name="dispatch")
@schema.password_reset_confirm
class PasswordResetConfirmView(_PublicView):
    throttle_classes = [PasswordResetAddressThrottle, PasswordResetConfirmThrottle]

    def post(self, request):
        serializer = serializers.PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset_confirm(**serializer.validated_data)
        return _done("Your password has been reset; sign in with the new one.")


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
