"""The registry check runs in a worker, with the same retry and error handling as personal
verification (verification.tasks.call_provider)."""

from __future__ import annotations

from celery import Task, shared_task

from verification.providers import get_provider
from verification.providers.base import Company
from verification.tasks import TASK_OPTIONS, call_provider

from . import services
from .models import EnterpriseVerification


@shared_task(name="enterprise.check_enterprise", **TASK_OPTIONS)
def check_enterprise(self: Task, verification_id: int) -> None:
    verification = EnterpriseVerification.objects.filter(pk=verification_id).first()
    if verification is None or verification.status != EnterpriseVerification.Status.SUBMITTED:
        return

    def call() -> None:
        result = get_provider().check_enterprise(
            request_id=f"{verification.public_id}:enterprise",
            company=Company(
                name=verification.company_name,
                credit_code=verification.credit_code,
                legal_representative=verification.legal_representative,
            ),
        )
        services.enterprise_record_check_result(verification_id=verification_id, result=result)

    call_provider(
        self,
        call=call,
        record_failure=lambda reason: (
            services.enterprise_record_provider_failure(
                verification_id=verification_id, reason_code=reason
            ).provider_failures
        ),
        mark_error=lambda reason: services.enterprise_mark_error(
            verification_id=verification_id, reason_code=reason
        ),
    )


@shared_task(name="enterprise.sweep", acks_late=True)
def sweep() -> int:
    return services.enterprise_sweep()
