from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import UserFactory
from tests.sandbox_harness import InProcessSandbox, running_sandbox_in_process


@pytest.fixture
def member(client: Client) -> User:
    """Here a member has only signed up (the user agreement and the privacy policy accepted),
    as +86 138 0013 8000, and is signed in on ``client``."""
    user = UserFactory.create(phone="+8613800138000", signed_up=True)
    client.force_login(user)
    return user


@dataclass
class Carriers:
    """The sandbox playing Aliyun SMS and Tencent SMS, and the JSON-lines file it writes."""

    sandbox: InProcessSandbox
    sms_file: Path

    def lines(self) -> list[dict[str, Any]]:
        if not self.sms_file.exists():
            return []
        return [json.loads(line) for line in self.sms_file.read_text("utf-8").splitlines()]

    def set_faults(self, **faults: float | str) -> None:
        self.sandbox.set_faults(**faults)


@pytest.fixture
def carriers(settings: Any, tmp_path: Path) -> Iterator[Carriers]:
    """Both carrier backends pointed at an in-process sandbox (a real HTTP server speaking each
    carrier's protocol) that appends every text it accepts to ``carriers.sms_file``.
    ``SMS_BACKEND`` is left for the test to choose."""
    sms_file = tmp_path / "sms.jsonl"
    with running_sandbox_in_process() as sandbox:
        assert sandbox.service is not None
        sandbox.service.config = replace(sandbox.service.config, sms_file=str(sms_file))
        settings.ACCOUNTS_SMS_ALIYUN_ENDPOINT = sandbox.url
        settings.ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_ID = sandbox.app_id
        settings.ACCOUNTS_SMS_ALIYUN_ACCESS_KEY_SECRET = sandbox.secret
        settings.ACCOUNTS_SMS_ALIYUN_TEMPLATE_CODE = ALIYUN_CODE_TEMPLATE
        settings.ACCOUNTS_SMS_ALIYUN_TEMPLATE_ACCOUNT_EXISTS = "SMS_900000002"
        settings.ACCOUNTS_SMS_TENCENT_ENDPOINT = sandbox.url
        settings.ACCOUNTS_SMS_TENCENT_SECRET_ID = sandbox.app_id
        settings.ACCOUNTS_SMS_TENCENT_SECRET_KEY = sandbox.secret
        settings.ACCOUNTS_SMS_TENCENT_SDK_APP_ID = "1400000001"
        settings.ACCOUNTS_SMS_TENCENT_TEMPLATE_CODE = TENCENT_CODE_TEMPLATE
        settings.ACCOUNTS_SMS_TENCENT_TEMPLATE_ACCOUNT_EXISTS = "2000002"
        yield Carriers(sandbox=sandbox, sms_file=sms_file)


ALIYUN_CODE_TEMPLATE = "SMS_900000001"
TENCENT_CODE_TEMPLATE = "2000001"
