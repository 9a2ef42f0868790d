"""OpenAPI: how the schema describes this service's bearer authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class StatelessJWTScheme(OpenApiAuthenticationExtension):
    target_class = "media_handler.authentication.StatelessJWTAuthentication"
    name = "bearerAuth"
    priority = 1  # ahead of drf-spectacular's own simplejwt extension, which would also match

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the auth service (`/api/auth/login/`).",
        }


def drop_slashless_alias(endpoints):
    """`/api/media` is the mobile app's spelling of `/api/media/`; document the latter once."""
    return [endpoint for endpoint in endpoints if endpoint[0] != "/api/media"]
