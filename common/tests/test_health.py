import re

import pytest

from common.testing import assert_status


@pytest.mark.django_db
def test_health_is_200_while_the_database_answers(client):
    response = client.get("/health/")

    assert_status(response, 200)
    assert response.json() == {"status": "ok", "service": "common-tests", "database": "ok"}


def test_an_answer_echoes_the_gateways_request_id(client):
    response = client.get("/nowhere/", HTTP_X_REQUEST_ID="abc-123")

    assert response["X-Request-ID"] == "abc-123"


def test_a_request_id_that_could_forge_log_lines_is_replaced(client):
    response = client.get("/nowhere/", HTTP_X_REQUEST_ID="abc\nFAKE LOG LINE")

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
