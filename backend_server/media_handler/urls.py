"""Mounted at `api/media/` (backend_server.urls, which also routes the bare `api/media` to
`mobile_media_list`). One set of views,
routed at both layouts of the spec: the seed README's (`media/`, `collections/`) and the mobile
app's (media at the root, `collection/`). The trailing slash is optional everywhere, and ids are
UUIDs, so `ping/`, `health/`, `schema/`, `docs/` and `files/` never read as a media id."""

from django.urls import URLPattern, URLResolver, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from media_handler.uploads.views import UploadDetailView, UploadListView
from media_handler.views import (
    UUID_PATTERN,
    ChangesView,
    CollectionViewSet,
    MediaViewSet,
    SignedFileView,
    TokenCheckView,
)


class OptionalSlashRouter(SimpleRouter):
    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # With an empty prefix DRF strips the list route's leading slash, leaving "^?$".
        return [
            re_path(r"^$", url.callback, name=url.name)
            if isinstance(url, URLPattern) and str(url.pattern) == "^?$"
            else url
            for url in super().get_urls()
        ]


seed_layout = OptionalSlashRouter()
seed_layout.register("media", MediaViewSet, basename="media")
seed_layout.register("collections", CollectionViewSet, basename="collection")

mobile_layout = OptionalSlashRouter()
mobile_layout.register("collection", CollectionViewSet, basename="mobile-collection")
mobile_layout.register("", MediaViewSet, basename="mobile-media")

urlpatterns = [
    # Named with their slash, so that the signed URLs this service builds are canonical.
    path("files/<uuid:media_id>/", SignedFileView.as_view(), name="media-file-signed"),
    re_path(rf"^files/(?P<media_id>{UUID_PATTERN})/?$", SignedFileView.as_view()),
    *(
        route
        for kind in ("thumbnail", "preview")
        for route in (
            path(
                f"files/<uuid:media_id>/{kind}/",
                SignedFileView.as_view(kind=kind),
                name=f"media-{kind}-signed",
            ),
            re_path(
                rf"^files/(?P<media_id>{UUID_PATTERN})/{kind}/?$",
                SignedFileView.as_view(kind=kind),
            ),
        )
    ),
    re_path(r"^uploads/?$", UploadListView.as_view(), name="upload-list"),
    path("uploads/<uuid:upload_id>/", UploadDetailView.as_view(), name="upload-detail"),
    re_path(rf"^uploads/(?P<upload_id>{UUID_PATTERN})/?$", UploadDetailView.as_view()),
    re_path(r"^changes/?$", ChangesView.as_view(), name="changes"),
    re_path(r"^token-check/?$", TokenCheckView.as_view(), name="token-check"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    *seed_layout.urls,
    *mobile_layout.urls,
]

# `GET /api/media?page=1` and `POST /api/media`, as the mobile app calls them.
mobile_media_list = next(
    url.callback
    for url in mobile_layout.urls
    if isinstance(url, URLPattern) and url.name == "mobile-media-list"
)
