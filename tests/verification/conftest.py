import pytest

from accounts.models import User
from tests.factories import DEMO, MemberFactory, details, resident_id

# bench/ imports these from here (it is outside tests/, so it is not changed with them): the
# tests take them from tests.factories. Drop this once bench/ imports tests.factories too.
__all__ = ["DEMO", "details", "make_member", "resident_id"]


def make_member(*, face: bool = False) -> User:
    """For bench/ only: :class:`tests.factories.MemberFactory`."""
    return MemberFactory.create(face=face)


@pytest.fixture(autouse=True)
def _in_english(english: None) -> None:
    """Every test here reads the English messages."""
