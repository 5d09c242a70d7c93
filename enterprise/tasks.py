"""The registry check runs in a worker, with the lifecycle's retries and error handling
(``verification.lifecycle.ProviderTask``), as every provider call does."""

from __future__ import annotations

from celery import shared_task

from kernel.retention import run_job
from verification.lifecycle import ProviderTask
from verification.providers import get_provider
from verification.providers.base import Company

from . import services
from .app_settings import app_settings
from .models import EnterpriseVerification


def _check_enterprise(verification: EnterpriseVerification) -> None:
    result = get_provider(verification.provider).check_enterprise(
        request_id=f"{verification.public_id}:enterprise",
        company=Company(
            name=verification.company_name,
            credit_code=verification.credit_code,
            legal_representative=verification.legal_representative,
        ),
    )
    services.enterprise_record_check_result(verification_id=verification.pk, result=result)


@shared_task(
    base=ProviderTask, bind=True, name=services.CHECK_ENTERPRISE, lifecycle=services.enterprise
)
def check_enterprise(self: ProviderTask, verification_id: int) -> None:
    self.run_step(verification_id, _check_enterprise)


@shared_task(name="enterprise.sweep", acks_late=True)
def sweep() -> dict[str, int]:
    return services.enterprise_sweep()


@shared_task(name="enterprise.retention", acks_late=True)
def retention() -> dict[str, int]:
    """Celery beat runs this daily (``CELERY_BEAT_SCHEDULE``): licence files past their period
    (``enterprise.retention``). Running twice changes nothing."""
    return run_job("enterprise.licences", batch_size=app_settings.RETENTION_BATCH_SIZE)
