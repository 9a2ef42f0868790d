from django.urls import include, path, re_path

from common import views as common_views
from media_handler.urls import mobile_media_list

urlpatterns = [
    # /health/ and api/media/health/: common.health.HealthCheckMiddleware answers them.
    re_path(r"^api/media/ping/?$", common_views.ping),
    re_path(r"^api/media/ping/cache/?$", common_views.ping_cache),
    path("api/media/", include("media_handler.urls")),
    # The mobile app calls `GET /api/media?page=1` and `POST /api/media`, without the slash.
    re_path(r"^api/media$", mobile_media_list),
]

handler400 = common_views.bad_request
handler403 = common_views.permission_denied
handler404 = common_views.page_not_found
handler500 = common_views.server_error
