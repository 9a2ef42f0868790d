"""The one error of making derivatives."""


class DerivativeError(Exception):
    """The file cannot give derivatives: not decodable, too large, or a tool refused it. Its
    message is for the operators' log, never for the owner; retrying would fail the same way."""
