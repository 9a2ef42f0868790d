from pathlib import Path

from django.apps import AppConfig
from django.core import checks


class CommonConfig(AppConfig):
    """In both services' INSTALLED_APPS (common.base_settings) for the checks it registers."""

    name = "common"
    verbose_name = "Media Handler common"
    # Where its templates are. Django would take the package's path, which is the repository's
    # `common/` folder when a process starts in the repository root (gunicorn does): there,
    # `common` imports as a namespace package (its modules still come from the installed one).
    path = str(Path(__file__).resolve().parent)

    def ready(self) -> None:
        from common.checks import production_settings_check

        checks.register(production_settings_check, checks.Tags.security)
