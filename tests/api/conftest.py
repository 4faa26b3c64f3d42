"""An API client that authenticates with a real token of a named fixture user."""

from __future__ import annotations

import json as jsonlib
from typing import Any

import pytest
from django.test import Client

from patron.core.tokens import token_create


class ApiClient:
    def __init__(self, token: str | None) -> None:
        self.token = token
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any):
        return self.client.get("/api/v1" + path, params, headers=self._headers())

    def send(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None):
        data = raw if raw is not None else jsonlib.dumps(body)
        return getattr(self.client, method)(
            "/api/v1" + path, data=data, content_type="application/json", headers=self._headers()
        )

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.send("post", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.send("patch", path, body, **kw)

    def delete(self, path: str):
        return self.client.delete("/api/v1" + path, headers=self._headers())


def client_for(user) -> ApiClient:
    _token, raw = token_create(user=user)
    return ApiClient(raw)


@pytest.fixture
def as_alice(alice):
    return client_for(alice)


@pytest.fixture
def as_bob(bob):
    return client_for(bob)


@pytest.fixture
def as_root(root):
    return client_for(root)


@pytest.fixture
def as_nora(nora):
    return client_for(nora)


@pytest.fixture
def as_mia(mia):
    return client_for(mia)
