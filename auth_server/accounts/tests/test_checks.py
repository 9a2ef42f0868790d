from accounts.checks import token_signing_check


def test_configured_keys_pass_the_check():
    assert token_signing_check(None) == []


def test_asymmetric_algorithm_without_a_private_key_fails_the_check(settings):
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ALGORITHM": "RS256", "SIGNING_KEY": ""}

    (error,) = token_signing_check(None)

    assert error.id == "accounts.E001"
