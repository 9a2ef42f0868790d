"""simplejwt imports `django.contrib.auth`'s models, so that app is installed; but this service
trusts the token alone and keeps no users, so none of the auth app's tables is ever created."""


class NoUserTablesRouter:
    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == "auth":
            return False
        return None
