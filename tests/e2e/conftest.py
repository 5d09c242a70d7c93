import pytest


@pytest.fixture
def site(live_server, settings, tmp_path, celery_worker_process, sandbox_settings_override):
    """The live site with a real worker and the sandbox vendor; texts go to a file the test
    reads its codes from (``settings.ACCOUNTS_SMS_FILE_PATH``)."""
    settings.ACCOUNTS_SMS_BACKEND = "accounts.sms.filebased.SmsBackend"
    settings.ACCOUNTS_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    settings.REALNAME_PUBLIC_URL = live_server.url  # the vendor sends the browser back here
    return live_server
