from django.contrib import admin
from django.urls import include, path

from common import views as common_views

urlpatterns = [
    # /health/ and api/auth/health/: common.health.HealthCheckMiddleware answers them.
    path("api/auth/ping/", common_views.ping),
    path("api/auth/admin/", admin.site.urls),
    path("api/auth/", include("accounts.urls")),
]

handler400 = common_views.bad_request
handler403 = common_views.permission_denied
handler404 = common_views.page_not_found
handler500 = common_views.server_error
