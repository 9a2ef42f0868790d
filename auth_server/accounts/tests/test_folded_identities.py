# ruff: noqa: RUF001 -- look-alike characters (fullwidth letters) are what these tests are about
"""Usernames and emails are unique after Unicode NFKC normalisation and case folding, the same
rule on SQLite and PostgreSQL: a duplicate is a 400 naming the field (never a 500, never a
second account), at registration and on the profile, and login finds the account by any
spelling that folds to the same."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User, fold
from accounts.tests.factories import UserFactory
from common.testing import assert_status

REGISTER = "/api/auth/register/"
PROFILE = "/api/auth/profile/"
LOGIN = "/api/auth/login/"
NEWCOMER = {"first_name": "New", "last_name": "Comer", "password": "strongpassword"}

pytestmark = pytest.mark.django_db

# (taken, attempted): equal once folded, different to SQL's LOWER() on one database or both.
SAME_USERNAMES = [
    ("straße1", "STRAẞE1"),
    ("straße1", "STRASSE1"),
    ("Ünal", "ünal"),
    ("σοφία", "ΣΟΦΊΑ"),
    ("ｊａｎｅ", "JANE"),  # fullwidth letters: NFKC makes them ASCII
    ("İvan1", "İVAN1"),
]
SAME_EMAILS = [
    ("jane@straße.example", "JANE@STRASSE.example"),
    ("jane@example.com", "jane@ｅｘａｍｐｌｅ.com"),
    ("unal@exämple.com", "UNAL@EXÄMPLE.COM"),
]


def register(post_json, **fields):
    return post_json(REGISTER, {**NEWCOMER, **fields})


def test_folding_is_nfkc_and_full_case_folding():
    assert fold("STRAẞE") == fold("straße") == "strasse"
    assert fold("ｊａｎｅ") == "jane"
    assert fold("ΣΟΦΊΑ") == fold("σοφία")
    assert fold("ﬁle") == "file"


@pytest.mark.parametrize(("taken", "attempted"), SAME_USERNAMES)
def test_username_equal_once_folded_is_400_naming_username(post_json, taken, attempted):
    UserFactory(username=taken, email="first@example.com")

    response = register(post_json, username=attempted, email="second@example.com")

    assert_status(response, 400)
    assert response.json()["username"] == ["A user with that username already exists."]
    assert User.objects.count() == 1


@pytest.mark.parametrize(("taken", "attempted"), SAME_EMAILS)
def test_email_equal_once_folded_is_400_naming_email(post_json, taken, attempted):
    UserFactory(username="first", email=taken)

    response = register(post_json, email=attempted)

    assert_status(response, 400)
    assert response.json()["email"] == ["A user with that email already exists."]
    assert User.objects.count() == 1


def test_dotted_capital_i_and_plain_i_are_different_names_on_both_databases(post_json):
    # Unicode folds "İ" to "i̇", not "i": two accounts, on SQLite as on PostgreSQL (whose
    # LOWER() made this a 500 before).
    assert_status(register(post_json, username="ivan1", email="ivan@example.com"), 201)

    response = register(post_json, username="İvan1", email="ivan2@example.com")

    assert_status(response, 201)
    assert User.objects.count() == 2


@pytest.mark.parametrize(("taken", "attempted"), SAME_USERNAMES[:4])
def test_profile_username_equal_once_folded_is_400(api_client, post_json, taken, attempted):
    UserFactory(username=taken, email="first@example.com")
    me = register(post_json, username="me", email="me@example.com").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {me['access']}")

    response = api_client.patch(PROFILE, {"username": attempted}, format="json")

    assert_status(response, 400)
    assert response.json()["username"] == ["A user with that username already exists."]
    assert User.objects.get(pk=me["user"]["id"]).username == "me"


@pytest.mark.parametrize(("taken", "attempted"), SAME_EMAILS)
def test_profile_email_equal_once_folded_is_400(api_client, post_json, taken, attempted):
    UserFactory(username="first", email=taken)
    me = register(post_json, username="me", email="me@example.com").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {me['access']}")

    response = api_client.patch(PROFILE, {"email": attempted}, format="json")

    assert_status(response, 400)
    assert response.json()["email"] == ["A user with that email already exists."]


def test_own_username_in_another_folding_is_allowed(api_client, post_json):
    me = register(post_json, username="straße1", email="me@example.com").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {me['access']}")

    response = api_client.patch(PROFILE, {"username": "STRAẞE1"}, format="json")

    assert_status(response, 200)
    assert response.json()["username"] == "STRAẞE1"


@pytest.mark.parametrize(
    "identifier", ["STRASSE1", "STRAẞE1", "ｓｔｒａｓｓｅ１", "jane@STRASSE.example"]
)
def test_login_finds_the_account_by_any_spelling_that_folds_the_same(post_json, identifier):
    user = UserFactory(username="straße1", email="jane@straße.example")

    response = post_json(LOGIN, {"username": identifier, "password": "strongpassword"})

    assert_status(response, 200)
    assert response.json()["user"]["id"] == user.pk


def test_the_folded_forms_follow_every_save(user):
    user.username = "ＪＡＮＥ２"
    user.email = "Jane@EXAMPLE.org"
    user.save()

    stored = User.objects.values("username_folded", "email_folded").get(pk=user.pk)
    assert stored == {"username_folded": "jane2", "email_folded": "jane@example.org"}


@pytest.mark.django_db(transaction=True)
def test_migration_folds_existing_accounts_and_keeps_both_of_a_clashing_pair():
    executor = MigrationExecutor(connection)
    before, after = (
        [("accounts", "0002_phone_number_ascii_digits")],
        [("accounts", "0003_folded_names")],
    )
    executor.migrate(before)
    OldUser = executor.loader.project_state(before).apps.get_model("accounts", "User")
    older = OldUser.objects.create(username="straße", email="jane@example.com", password="!")
    newer = OldUser.objects.create(username="STRASSE", email="john@example.com", password="!")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    NewUser = executor.loader.project_state(after).apps.get_model("accounts", "User")

    folded = dict(NewUser.objects.values_list("pk", "username_folded"))
    assert folded == {older.pk: "strasse", newer.pk: f"strasse #{newer.pk}"}
    assert NewUser.objects.get(pk=older.pk).email_folded == "jane@example.com"
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
