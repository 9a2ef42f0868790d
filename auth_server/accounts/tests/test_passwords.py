"""Password hashing: Argon2id at the configured parameters, PBKDF2 hashes made again at the next
sign-in, and one hash computed whether the account exists or not (the same time for both)."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher, identify_hasher

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from common.testing import assert_status

LOGIN = "/api/auth/login/"
# Small enough for a test (argon2's minimum is 8 KiB per lane); the real ones are the settings'.
TEST_ARGON2 = {"memory_cost": 64, "time_cost": 2, "parallelism": 1}

pytestmark = pytest.mark.django_db


@pytest.fixture
def argon2_first(settings):
    settings.PASSWORD_HASHERS = [
        "accounts.hashers.Argon2idPasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    settings.ARGON2 = TEST_ARGON2


class CountingHasher(MD5PasswordHasher):
    """Django's MD5 hasher, counting the hashes it computes (verify computes one too)."""

    computed = 0

    def encode(self, password, salt):
        CountingHasher.computed += 1
        return super().encode(password, salt)


def test_new_passwords_are_hashed_with_argon2id_at_the_configured_parameters(
    post_json, argon2_first
):
    user = UserFactory()

    assert user.password.startswith("argon2$argon2id$v=19$m=64,t=2,p=1$")
    assert_status(post_json(LOGIN, {"username": user.username, "password": PASSWORD}), 200)


def test_the_service_hashes_with_argon2id_at_owasps_parameters_or_above():
    # The service's own settings module (the test settings swap in a fast hasher).
    from auth_server import settings as service

    assert service.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2idPasswordHasher"
    assert service.ARGON2["memory_cost"] >= 19 * 1024
    assert service.ARGON2["time_cost"] >= 2
    assert service.ARGON2["parallelism"] >= 1


def test_a_pbkdf2_hash_becomes_argon2id_at_the_next_sign_in(post_json, argon2_first):
    user = UserFactory()
    legacy = PBKDF2PasswordHasher().encode(PASSWORD, "legacysalt", iterations=1000)
    User.objects.filter(pk=user.pk).update(password=legacy)

    response = post_json(LOGIN, {"username": user.username, "password": PASSWORD})

    assert_status(response, 200)
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert_status(post_json(LOGIN, {"username": user.username, "password": PASSWORD}), 200)


def test_a_wrong_password_leaves_a_pbkdf2_hash_as_it_is(post_json, argon2_first):
    user = UserFactory()
    legacy = PBKDF2PasswordHasher().encode(PASSWORD, "legacysalt", iterations=1000)
    User.objects.filter(pk=user.pk).update(password=legacy)

    assert_status(post_json(LOGIN, {"username": user.username, "password": "wrong-one"}), 400)

    user.refresh_from_db()
    assert user.password == legacy


def test_an_argon2_hash_with_older_parameters_is_made_again(post_json, argon2_first, settings):
    settings.ARGON2 = {**TEST_ARGON2, "time_cost": 1}
    user = UserFactory()
    settings.ARGON2 = TEST_ARGON2

    assert_status(post_json(LOGIN, {"username": user.username, "password": PASSWORD}), 200)

    user.refresh_from_db()
    assert ",t=2," in user.password


@pytest.mark.parametrize("identifier", ["nobody", "nobody@example.com", "jane", "jane@example.com"])
def test_unknown_accounts_and_wrong_passwords_each_cost_one_hash(post_json, settings, identifier):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    UserFactory(username="jane", email="jane@example.com")
    CountingHasher.computed = 0

    response = post_json(LOGIN, {"username": identifier, "password": "not-the-password"})

    assert_status(response, 400)
    assert CountingHasher.computed == 1
