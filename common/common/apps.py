from django.apps import AppConfig
from django.core import checks


class CommonConfig(AppConfig):
    """In both services' INSTALLED_APPS (common.base_settings) for the checks it registers."""

    name = "common"
    verbose_name = "Media Handler common"

    def ready(self) -> None:
        from common.checks import production_settings_check

        checks.register(production_settings_check, checks.Tags.security)
