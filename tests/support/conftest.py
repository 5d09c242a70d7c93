"""Staff members as the support desk sees them: in a group, with TOTP."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.factories import StaffFactory


@pytest.fixture
def support(db: None) -> User:
    return StaffFactory.create(groups=["Support"])


@pytest.fixture
def lead(db: None) -> User:
    return StaffFactory.create(groups=["Support lead"])
