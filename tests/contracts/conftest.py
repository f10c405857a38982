import pytest

from tests.contracts.helpers import cast


@pytest.fixture
def companies(db):
    return cast()
