"""Fixtures for the service: an app on a fresh data directory, and a client that runs its lifespan."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir, backend, request):
    if backend == "embedded":
        return Settings(data_dir=data_dir)
    cluster = request.getfixturevalue("cluster")
    url = cluster.fresh_database()
    request.addfinalizer(lambda: cluster.drop_database(url))
    return Settings(data_dir=data_dir, database=url, runner="ray", ray_address=cluster.ray_address)


@pytest.fixture
def client(settings, monkeypatch):
    monkeypatch.delenv("CNN_PLAYGROUND_DATASETS", raising=False)  # never the developer's own datasets
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def module_client(tmp_path_factory):
    """One app for a module whose tests only read networks: a built-in dataset is generated once."""
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


def make_network(client, **body) -> str:
    """A network built through the API (a preset or a spec, and a seed), by its id."""
    r = client.post("/api/networks", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def client_seeing_500s(settings, monkeypatch):
    """A client that receives a 500 as a response, for tests that assert there is none."""
    monkeypatch.delenv("CNN_PLAYGROUND_DATASETS", raising=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def lenet(client):
    r = client.post("/api/networks", json={"preset": "lenet5", "name": "LeNet"})
    assert r.status_code == 201, r.text
    return r.json()
