from django.urls import include, path, re_path

from common import views as common_views

urlpatterns = [
    path("health/", common_views.health),
    re_path(r"^api/media/health/?$", common_views.health),
    re_path(r"^api/media/ping/?$", common_views.ping),
    # The mobile app calls `/api/media?page=1` and `POST /api/media`: the slash is optional.
    re_path(r"^api/media(?:/|$)", include("media_handler.urls")),
]

handler400 = common_views.bad_request
handler403 = common_views.permission_denied
handler404 = common_views.page_not_found
handler500 = common_views.server_error
