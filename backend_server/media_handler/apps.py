from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class MediaHandlerConfig(AppConfig):
    name = "media_handler"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from media_handler import (
            schema,  # noqa: F401 -- registers the OpenAPI auth extension
            signals,  # noqa: F401 -- connects the list cache's receivers
        )
        from media_handler.checks import sqlite_version_check, storage_settings_check

        checks.register(storage_settings_check)
        checks.register(sqlite_version_check, checks.Tags.database)
        # Django's temporary-file upload handler needs its directory before the first upload.
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
