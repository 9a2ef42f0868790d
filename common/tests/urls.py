"""Views for common's tests: each raises what a service's code would, so the tests see the
JSON the one exception handler (and Django's error views) make of it."""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common import views as common_views
from common.exceptions import ApplicationError

RAISED = {
    "application-error": lambda: ApplicationError(
        "That collection is not yours.", code="collection_not_found", status=404
    ),
    "field-error": lambda: ApplicationError(
        "Choose another name.", code="name_taken", field="name"
    ),
    "field-errors": lambda: ApplicationError(
        "The account's details were refused.",
        code="invalid",
        field_errors={"email": ["Taken."], "password": ["Too short.", "Too common."]},
    ),
    "extra": lambda: ApplicationError(
        "The refresh token was refused.", code="invalid_grant", extra={"error": "invalid_grant"}
    ),
    "too-large": lambda: RequestDataTooBig("too big"),
    "database-down": lambda: OperationalError("connection refused"),
    "model-validation": lambda: DjangoValidationError({"size": ["Must be positive."]}),
}


class RaisingView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request, name: str) -> Response:
        raise RAISED[name]()


urlpatterns = [
    path("health/", common_views.health),
    path("ping/", common_views.ping),
    path("raise/<str:name>/", RaisingView.as_view()),
]

handler400 = common_views.bad_request
handler404 = common_views.page_not_found
handler500 = common_views.server_error
