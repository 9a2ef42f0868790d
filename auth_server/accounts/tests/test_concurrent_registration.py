"""Registrations racing for the same derived username, on real threads against the real
database (each thread its own connection, every write committed)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User

URL = "/api/auth/register/"
RACERS = 20

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_registrations_sharing_a_local_part_all_get_unique_usernames():
    start = threading.Barrier(RACERS)

    def register(n: int):
        body = {
            "first_name": "Jo",
            "last_name": "Racer",
            "email": f"jo@d{n}.example",
            "password": "strongpassword",
        }
        try:
            start.wait()
            response = APIClient().post(
                URL, json.dumps(body), content_type="application/json", REMOTE_ADDR=f"10.0.0.{n}"
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(register, range(RACERS)))

    assert [status for status, _ in answers] == [201] * RACERS, [b for s, b in answers if s != 201]
    usernames = [body["user"]["username"] for _, body in answers]
    assert len(set(usernames)) == RACERS
    assert all(name.startswith("jo") for name in usernames)
    assert User.objects.count() == RACERS
