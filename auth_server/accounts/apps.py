from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts import checks, schema  # noqa: F401 -- registers the check and extension


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on the site whose login form is throttled (accounts.admin_site); in
    INSTALLED_APPS instead of django.contrib.admin."""

    default = False  # accounts' own config stays AccountsConfig
    default_site = "accounts.admin_site.AdminSite"
