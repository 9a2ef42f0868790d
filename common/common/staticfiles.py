"""The static files storage both services use (settings.STORAGES["staticfiles"])."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's: `collectstatic` writes each file under a name with its content's hash (and
    its gzip copy), which WhiteNoise serves with a year's Cache-Control. Until collectstatic has
    run (tests, a bare `runserver`), pages link the apps' files by their own names, which
    WhiteNoise serves from the apps (WHITENOISE_USE_FINDERS), instead of failing on the
    missing manifest."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
