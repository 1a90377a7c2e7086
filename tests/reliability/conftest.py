import pytest

from tests.support.layers import FLAVOURS, Flavour


@pytest.fixture(params=FLAVOURS, ids=lambda f: f.name)
def flavour(request: pytest.FixtureRequest) -> Flavour:
    """Every case runs against the source and the native binary."""
    value: Flavour = request.param
    return value
