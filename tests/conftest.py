"""The backend the service's tests run on: the embedded default, or PostgreSQL + Ray (tests/cluster.py)."""

import os
import sys

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        choices=("embedded", "cluster"),
        default=os.environ.get("CNN_PLAYGROUND_TEST_BACKEND", "embedded"),
        help="run the service's tests on the embedded SQLite + threads (default) or on "
        "PostgreSQL + Ray (needs the cluster extra; see tests/cluster.py)",
    )


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def cluster():
    """A PostgreSQL server and a Ray cluster for this session (tests/cluster.py)."""
    from tests.cluster import ray_token_env, start_cluster

    ray_token_env()
    c = start_cluster()
    try:
        yield c
    finally:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()  # before its cluster stops: a Ray driver that loses its cluster ends its process
        c.close()
