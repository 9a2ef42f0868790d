"""drf-spectacular extensions (imported when the app is ready)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class AccessTokenScheme(SimpleJWTScheme):
    # drf-spectacular matches authentication classes exactly, not their subclasses.
    target_class = "accounts.authentication.AccessTokenAuthentication"
