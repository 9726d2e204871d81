"""Fixtures for the JSON API tests: a client that speaks for any user of the `world`."""
import pytest
from api_helpers import ApiClient, make_jpeg


@pytest.fixture
def api(app):
    return ApiClient(app)


@pytest.fixture
def jpeg():
    return make_jpeg()
