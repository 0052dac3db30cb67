import pytest

from host import micropython as mp
from host.errors import ToasterError


@pytest.fixture(scope="session")
def micropython():
    """The MicroPython binary. A firmware test without it fails: it never skips."""
    try:
        return mp.binary()
    except ToasterError as exc:
        pytest.fail(str(exc))
