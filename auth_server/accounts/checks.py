from django.core.checks import Error, register

from accounts.tokens import token_backend


@register()
def token_signing_check(app_configs, **kwargs):
    """Refuses to start with keys that cannot sign and verify a token (say, a public key where
    the private one belongs), rather than failing at the first login."""
    try:
        backend = token_backend()
        backend.decode(backend.encode({"check": True}))
    except Exception as exc:  # any failure here is a configuration error
        return [
            Error(
                f"Tokens cannot be signed and verified with the configured keys: {exc!r}",
                hint="Check JWT_SIGNING_KEY, or JWT_PRIVATE_KEY / JWT_PUBLIC_KEY / JWT_ALGORITHM.",
                id="accounts.E001",
            )
        ]
    return []
