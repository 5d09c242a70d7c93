import pytest


@pytest.fixture(autouse=True)
def _in_english(english: None) -> None:
    """Every test here reads the English messages."""
