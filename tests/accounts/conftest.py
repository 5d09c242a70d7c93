from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import UserFactory


@pytest.fixture
def member(client: Client) -> User:
    """Here a member has only signed up (the user agreement and the privacy policy accepted),
    as +86 138 0013 8000, and is signed in on ``client``."""
    user = UserFactory.create(phone="+8613800138000", signed_up=True)
    client.force_login(user)
    return user
