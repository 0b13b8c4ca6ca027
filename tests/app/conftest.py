"""Fixtures for the service: an app on a fresh data directory, and a client that runs its lifespan."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def lenet(client):
    r = client.post("/api/networks", json={"preset": "lenet5", "name": "LeNet"})
    assert r.status_code == 201, r.text
    return r.json()
