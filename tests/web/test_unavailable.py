"""A database that cannot be reached is a 503 that says to retry, on pages and in the API; a
bug is still a 500. The real outage (PostgreSQL restarted under load):
tests/faults/test_postgres_restart.py."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client

from patron.core.errors import database_unavailable
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def test_health_says_whether_the_database_answers():
    response = Client().get("/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": True}
    with mock.patch("patron.web.health.database_unavailable", return_value=True), mock.patch.object(
        connection, "cursor", side_effect=OperationalError("the database system is shutting down")
    ):
        response = Client().get("/health/")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


def _outage():
    # Where the first query of a request fails; classified as an outage (see the test below).
    return mock.patch("patron.web.errors.database_unavailable", return_value=True)


def test_a_page_during_an_outage_is_a_503_page(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    with _outage(), mock.patch("patron.web.customer_lists.visible_customers", side_effect=OperationalError("gone")):
        response = client.get("/customers/")
    assert response.status_code == 503 and response["Retry-After"]
    assert "The database is not available right now" in response.content.decode()


def test_an_api_call_during_an_outage_is_a_503_in_the_error_shape(alice):
    api = client_for(alice)
    api.client.raise_request_exception = False
    with mock.patch("patron.config.api.database_unavailable", return_value=True), mock.patch(
        "patron.customers.me.visible_customers", side_effect=OperationalError("gone")
    ):
        response = api.get("/me")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["code"] == "database_unavailable"


def test_a_database_error_that_is_a_bug_stays_a_500(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    with mock.patch("patron.web.customer_lists.visible_customers", side_effect=OperationalError("no such column: x")):
        assert client.get("/customers/").status_code == 500


def test_what_counts_as_an_outage():
    assert not database_unavailable(ValueError("no"))
    assert not database_unavailable(OperationalError("no such column: x"))
    if connection.vendor == "sqlite":
        assert database_unavailable(OperationalError("database is locked"))
