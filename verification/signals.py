"""The one signal higher apps hear verification state changes by (the host platform's webhooks,
``webhooks``): lower apps cannot import them, so they announce.

``state_changed`` is sent inside the transaction that changes the state, once per change, so a
receiver that writes rows (an outbox) commits or rolls back with the change itself. It carries
no personal data: kinds, ids, states, reason codes, the document type and the provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

from .models import VerificationEvent

if TYPE_CHECKING:
    from .models import VerificationBase

# Keyword arguments: kind, verification_id, verification_public_id, user_id, event_type, state,
# reason_code, document_type, provider.
state_changed = Signal()

SUBMITTED = "submitted"
PROGRESSED = "progressed"  # a step passed, another follows (identity checked; registry checked)
PASSED = "passed"
FAILED = "failed"
ERROR = "error"
RESUMED = "resumed"  # support staff retried a verification stopped in error
REVIEWED = "reviewed"  # support staff approved or rejected an enterprise licence
ENDED = "ended"  # the person withdrew consent to the real-name service: it no longer counts
ERASED = "erased"  # the account was closed (sent by the project package)
EVENT_TYPES = (SUBMITTED, PROGRESSED, PASSED, FAILED, ERROR, RESUMED, REVIEWED, ENDED, ERASED)

Event = VerificationEvent.Event
ANSWERS = (Event.IDENTITY_RESULT, Event.FACE_RESULT, Event.REGISTRY_RESULT)
FIXED: dict[str, str] = {
    Event.SUBMITTED: SUBMITTED,
    Event.IDENTITY_DEFERRED: PROGRESSED,
    Event.ERROR: ERROR,
    Event.RETRIED: RESUMED,
    Event.REVIEWED: REVIEWED,
    Event.ABANDONED: FAILED,
    Event.ENDED: ENDED,
}


def change_of(verification: VerificationBase, event: str) -> str:
    """The state change a timeline step is, if it is one ('' for steps within a state: a
    provider failure, the face consent, a face session opened, a purge)."""
    if event in FIXED:
        return FIXED[event]
    if event in ANSWERS:
        if verification.status == verification.VERIFIED:
            return PASSED
        return FAILED if verification.completed_at else PROGRESSED
    return ""


def announce(verification: VerificationBase, event_type: str, **extra: Any) -> None:
    """Send ``state_changed`` for ``verification`` (call it inside the changing transaction)."""
    state_changed.send(
        sender=type(verification),
        kind=str(verification.kind),
        verification_id=verification.pk,
        verification_public_id=verification.public_id,
        user_id=verification.user_id,
        event_type=event_type,
        state=str(verification.status),
        reason_code=str(verification.reason_code or ""),
        document_type=str(getattr(verification, "document_type", "") or ""),
        provider=verification.provider,
        **extra,
    )
