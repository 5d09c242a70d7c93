from tests.verification.test_workers import worker  # noqa: F401 - the shared fixture
