"""The steps every kind shares, written once: :class:`Lifecycle`, which each kind subclasses
with its model, constraints, waiting states and phone message, and :class:`Answer`, one answer
a kind waits for from its provider."""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.app_settings import app_settings as accounts_settings
from accounts.identity import IdentityKind, identity_refuse_other_kinds
from accounts.models import User
from accounts.selectors import consent_missing
from accounts.services import user_lock
from kernel import alerts, metrics
from kernel.queueing import send_after_commit

from .. import signals
from ..app_settings import app_settings
from ..models import VerificationBase, VerificationEvent, one_active_constraint_name
from ..providers import router
from ..providers.base import CheckResult, ReasonCode
from .reads import attempts_today, current_of, lockout_lifts_at

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger("verification.lifecycle")
Event = VerificationEvent.Event
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Failures:
    """A step's run of transient provider failures, as stored: how many, and when the first
    came (``VERIFICATION_PROVIDER_RETRY_WINDOW`` counts from it)."""

    count: int
    since: datetime


@dataclass(frozen=True)
class Answer[V: VerificationBase]:
    """One answer a kind waits for from its provider (an identity check, a face check, a
    registry check): the task that asks for it (a record waits for the answer while it is in
    that task's ``pending`` state: answers that come twice or late change nothing), where it is
    kept, what the timeline calls it, and the states it leads to. A failed answer ends the
    verification with the provider's reason."""

    entry: str  # key in the encrypted result document
    event: str  # VerificationEvent.Event
    passed: str  # the status after a pass
    failed: str  # the status after a fail
    # A key of the kind's ``Lifecycle.pending``; by default the first, which a submission queues.
    task: str = ""
    checked_at: str = ""  # a field that records when the answer came
    # A pass that ends the verification (reason "ok", completed); else another step follows.
    final: bool = False
    # The failure count is per provider step: reset it when the answer ends a step that
    # another provider step may follow; a face check's answer keeps it for support staff.
    resets_failures: bool = True


class Lifecycle[V: VerificationBase]:
    """The shared steps; a kind supplies the class attributes (and overrides :meth:`resume`
    when an error can stop it in more than one state)."""

    model: type[V]
    # The one-active rules (``verification.models.one_active_constraints(constraint_prefix)``),
    # by the field they keep unique ("user", "phone"): (error code, what the person is told).
    constraint_prefix: ClassVar[str]
    constraint_messages: ClassVar[Mapping[str, tuple[str, StrOrPromise]]]
    # The Celery task that moves a record on from each waiting state, and which records are in
    # that state; the first is the task a new submission starts with.
    pending: ClassVar[Mapping[str, Q]]
    phone_unverified: ClassVar[StrOrPromise]
    # What an account with an active verification of this kind is told when it starts another
    # kind (an account verifies either as a person or as an enterprise), and its error code.
    refusal_code: ClassVar[str]
    refusal: ClassVar[StrOrPromise]
    # The status people see once it is completed, and the kind's card on the overview page.
    verified_label: ClassVar[StrOrPromise]
    card_template: ClassVar[str]

    def identity_kind(self) -> IdentityKind:
        """This kind for the ``accounts.identity`` registry, read from the model's statuses."""
        model = self.model

        def of_user(user: User) -> QuerySet[V]:
            return model._default_manager.filter(user=user)

        return IdentityKind(
            name=model.kind,
            verified=lambda user: of_user(user).filter(status=model.VERIFIED).exists(),
            active=lambda user: of_user(user).filter(status__in=model.ACTIVE_STATUSES).exists(),
            current=lambda user: current_of(model, user=user),
            refusal_code=self.refusal_code,
            refusal=self.refusal,
            verified_label=self.verified_label,
            card_template=self.card_template,
            end=lambda user: self.end_on_withdrawal(user=user),
        )

    def erase_values(self, verification: V) -> None:
        """Blank the kind's personal values of ``verification`` (it ended)."""
        raise NotImplementedError

    @transaction.atomic
    def end_on_withdrawal(self, *, user: User) -> int:
        """The person withdrew consent to the real-name service: their verification of this
        kind, completed or still under way, ends (``ended``: it no longer counts, and holds
        neither the account nor the mobile number) and its personal values are erased at once
        (PIPL Art. 47); that a check ran, when, and its outcome stay. A provider's answer that
        comes afterwards finds it no longer waiting and changes nothing. Returns how many
        ended."""
        model = self.model
        ended = 0
        for verification in model._default_manager.select_for_update().filter(
            user=user, status__in=model.ACTIVE_STATUSES
        ):
            verification.status = model.ENDED
            verification.reason_code = ReasonCode.CONSENT_WITHDRAWN
            # When it passed; for one still under way, when it ended.
            verification.completed_at = verification.completed_at or timezone.now()
            verification.save(update_fields=["status", "reason_code", "completed_at", "updated_at"])
            self.erase_values(verification)
            self.event(verification, Event.ENDED, ReasonCode.CONSENT_WITHDRAWN)
            ended += 1
        return ended

    def locked(self, verification_id: int) -> V:
        return self.model._default_manager.select_for_update().get(pk=verification_id)

    # --- submission ----------------------------------------------------------------------------

    def check_account(self, *, user: User) -> None:
        """The account may start a verification: consents given, mobile number confirmed.
        Raises ValidationError otherwise. The rules that depend on the account's other
        verifications (no other kind, attempts left) are checked once, under the account's
        lock, by :meth:`create`."""
        if consent_missing(user=user, slugs=accounts_settings.VERIFICATION_DOCUMENTS):
            raise ValidationError(
                _("Please accept the real-name authentication service description first."),
                code="consent_required",
            )
        if not user.phone or not user.phone_verified:
            raise ValidationError(self.phone_unverified, code="phone_unverified")

    def refuse_if_other_kind_or_out_of_attempts(self, *, user: User) -> None:
        identity_refuse_other_kinds(user=user, kind=self.model.kind)
        if attempts_today(self.model, user=user) >= app_settings.MAX_ATTEMPTS_PER_DAY:
            lifts_at = lockout_lifts_at(self.model, user=user)
            raise ValidationError(
                _(
                    "You have used all %(limit)s verification attempts for today. "
                    "You can try again after %(time)s."
                ),
                code="locked_out",
                params={
                    "limit": app_settings.MAX_ATTEMPTS_PER_DAY,
                    "time": timezone.localtime(lifts_at).strftime("%Y-%m-%d %H:%M")
                    if lifts_at
                    else "",
                },
            )

    def route_key(self, fields: Mapping[str, Any]) -> str:
        """What the router routes this verification by: its document type, or ``enterprise``."""
        raise NotImplementedError

    def choose_provider(self, fields: Mapping[str, Any]) -> str:
        """The provider that will make every call of this verification (the router's choice,
        recorded on it). A type no provider covers is refused with the form's words."""
        key = self.route_key(fields)
        try:
            return router.choose(key)
        except router.NoProvider:
            raise ValidationError(
                _("This document type cannot be verified here at the moment."),
                code="no_provider",
            ) from None

    def create(self, *, user: User, **fields: Any) -> V:
        """Insert a submitted verification and queue its first provider call. Checked again
        under the account's lock (``accounts.services.user_lock``): a concurrent submission of
        another kind, or a second tab, cannot slip between the caller's check and the insert.
        The partial unique constraints decide races: a losing transaction gets the same
        friendly error as a sequential duplicate, and leaves nothing behind. ``phone`` defaults
        to the account's verified number."""
        try:
            with transaction.atomic():
                user_lock(user=user)
                self.refuse_if_other_kind_or_out_of_attempts(user=user)
                verification = self.model._default_manager.create(
                    user=user,
                    phone=fields.pop("phone", user.phone),
                    status=self.model.SUBMITTED,
                    provider=self.choose_provider(fields),
                    **fields,
                )
                self.event(verification, Event.SUBMITTED)
                self.enqueue(next(iter(self.pending)), verification.pk)
        except IntegrityError as exc:
            self.raise_friendly(exc, user=user)
        logger.info("%s verification %s submitted", self.model.kind, verification.pk)
        return verification

    def raise_friendly(self, exc: IntegrityError, *, user: User) -> NoReturn:
        """Turn a broken one-active-verification rule into the message people see. Both rules
        may break at once (the same account, with its own number): the account's own
        verification is the more useful thing to be told about."""
        names = [one_active_constraint_name(self.constraint_prefix, f) for f in ("user", "phone")]
        if not any(name in str(exc) for name in names):
            raise exc
        own = self.model._default_manager.filter(
            user=user, status__in=self.model.ACTIVE_STATUSES
        ).exists()
        code, message = self.constraint_messages["user" if own else "phone"]
        raise ValidationError(message, code=code) from None

    # --- the record of what happened -------------------------------------------------------------

    def stamp(self, verification: V, entry: str, **values: Any) -> None:
        """Record a step's outcome in the encrypted result document, with its time."""
        result = dict(verification.result or {})
        result[entry] = {**values, "at": timezone.now().isoformat()}
        verification.result = result

    def event(self, verification: V, event: str, reason_code: str = "", **detail: Any) -> None:
        """Add a step to the timeline support staff read. ``detail`` holds counts and step names,
        never personal data. A step that changes the state is announced
        (``verification.signals.state_changed``) in the same transaction: every change of state
        writes exactly one timeline step, so it is announced once."""
        VerificationEvent.objects.create(
            kind=self.model.kind,
            verification_id=verification.pk,
            event=event,
            reason_code=str(reason_code),
            detail=detail,
        )
        if change := signals.change_of(verification, event):
            signals.announce(verification, change)

    # --- provider answers, failures, errors ------------------------------------------------------

    @transaction.atomic
    def record_answer(
        self,
        *,
        verification_id: int,
        result: CheckResult,
        answer: Answer[V],
        seen: V | None = None,
    ) -> V:
        """The provider's answer. Recorded once: a duplicate or late answer changes nothing.

        ``seen`` is the record as the task read it before the call: if the row is still exactly
        that (still waiting, not written since), one conditional UPDATE records the answer
        without locking and reading it again; otherwise the row is locked, re-read and decided
        on as it is now."""
        manager = self.model._default_manager
        waiting = manager.filter(self.pending[answer.task or next(iter(self.pending))])
        if seen is not None and seen.pk == verification_id:
            verification = copy.copy(seen)
            changed = self._apply_answer(verification, result, answer)
            fields = {field.name: field for field in self.model._meta.concrete_fields}
            values = {name: fields[name].pre_save(verification, False) for name in changed}
            if waiting.filter(pk=verification_id, updated_at=seen.updated_at).update(**values):
                self._answered(verification, result, answer)
                return verification
        locked = waiting.select_for_update().filter(pk=verification_id).first()
        if locked is None:
            return manager.get(pk=verification_id)
        locked.save(update_fields=self._apply_answer(locked, result, answer))
        self._answered(locked, result, answer)
        return locked

    def _apply_answer(self, verification: V, result: CheckResult, answer: Answer[V]) -> list[str]:
        """Set the answer's fields on ``verification``; the names of the fields set."""
        self.stamp(
            verification,
            answer.entry,
            passed=result.passed,
            reason=str(result.reason_code),
            ref=result.provider_ref,
        )
        changed = ["result", "status", "updated_at"]
        if answer.resets_failures:
            verification.provider_failures = 0
            changed.append("provider_failures")
        now = timezone.now()
        if answer.checked_at:
            setattr(verification, answer.checked_at, now)
            changed.append(answer.checked_at)
        verification.status = answer.passed if result.passed else answer.failed
        if answer.final or not result.passed:
            verification.reason_code = result.reason_code
            verification.completed_at = now
            changed += ["reason_code", "completed_at"]
        return changed

    def _answered(self, verification: V, result: CheckResult, answer: Answer[V]) -> None:
        self.event(verification, answer.event, result.reason_code)
        logger.info(
            "%s verification %s %s: %s",
            self.model.kind,
            verification.pk,
            answer.entry,
            result.reason_code,
        )

    @transaction.atomic
    def record_provider_failure(self, *, verification_id: int, reason_code: ReasonCode) -> V:
        """Count a transient provider failure (for support staff, and the retry cap). A
        verification still at its first step, whose provider's circuit is open, moves to the
        next provider of its route: the vendor holds nothing of it yet."""
        verification = self.locked(verification_id)
        verification.provider_failures += 1
        detail: dict[str, Any] = {
            "failures": verification.provider_failures,
            "step": verification.step,
        }
        if (
            verification.status == self.model.SUBMITTED
            and verification.provider
            and router.circuit(verification.provider).state == router.OPEN
        ):
            key = self.route_key({"document_type": getattr(verification, "document_type", "")})
            with contextlib.suppress(router.NoProvider):
                chosen = router.choose(key)
                if chosen != verification.provider:
                    detail["moved_from"], verification.provider = verification.provider, chosen
                    detail["moved_to"] = chosen
        verification.save(update_fields=["provider_failures", "provider", "updated_at"])
        self.event(verification, Event.PROVIDER_FAILED, reason_code, **detail)
        return verification

    def failures_of(self, verification: V) -> Failures:
        """The step's run of transient failures: the stored count, and when the first of them
        came (the newest ``provider_failed`` event counting one: the count starts again at one
        after each answered step and each staff retry)."""
        first = (
            VerificationEvent.objects.filter(
                kind=self.model.kind,
                verification_id=verification.pk,
                event=Event.PROVIDER_FAILED,
                detail__failures=1,
            )
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
        return Failures(count=verification.provider_failures, since=first or timezone.now())

    @transaction.atomic
    def mark_error(self, *, verification_id: int, reason_code: ReasonCode) -> V:
        """The provider could not be reached or refused us after every retry: the verification
        stops in ``error`` with the reason, where support staff can see it and retry it."""
        verification = self.locked(verification_id)
        if verification.status not in self.model.PROVIDER_STATUSES:
            return verification
        step = verification.step
        verification.status = self.model.ERROR
        verification.reason_code = reason_code
        self.stamp(verification, "error", reason=str(reason_code), step=step)
        verification.save()
        self.event(verification, Event.ERROR, reason_code, step=step)
        logger.warning(
            "%s verification %s stopped in error: %s", self.model.kind, verification.pk, reason_code
        )
        self.alert_error(verification, step=step)
        return verification

    def alert_error(self, verification: V, *, step: str) -> None:
        """Tell the support team (``kernel.alerts``: at most once per interval, sent after the
        commit by a worker). Ids, names of steps and reason codes only."""
        alerts.alert(
            key="verification_error",
            subject="Verifications are stopping in error",
            facts={
                "kind": str(self.model.kind),
                "verification_id": verification.pk,
                "provider": verification.provider,
                "step": step,
                "reason": str(verification.reason_code),
                "in_error_now": self.model._default_manager.filter(status=self.model.ERROR).count(),
            },
        )

    # --- support staff and the sweeper -----------------------------------------------------------

    def resume(self, verification: V) -> None:
        """Put a verification stopped in ``error`` back in the state it stopped in."""
        verification.status = self.model.SUBMITTED

    @transaction.atomic
    def retry(self, *, verification: V) -> V:
        """Support staff retry a verification stopped in ``error``: it resumes the step it was
        in. Fails with a clear message if the number or the account has since been verified
        elsewhere."""
        verification = self.locked(verification.pk)
        if verification.status != self.model.ERROR:
            raise ValidationError(_("Only verifications that need attention can be retried."))
        self.resume(verification)
        verification.reason_code = ""
        verification.provider_failures = 0
        try:
            with transaction.atomic():
                verification.save()
        except IntegrityError as exc:
            self.raise_friendly(exc, user=verification.user)  # type: ignore[attr-defined]
        self.event(verification, Event.RETRIED, step=verification.step)
        if task_name := self.pending_task(verification.pk):
            self.enqueue(task_name, verification.pk)
        return verification

    def pending_task(self, verification_id: int) -> str:
        """The task that moves the record on from the state it is in ('' when none), as the
        database sees it: the first of ``pending`` whose condition the row meets."""
        next_task = Case(
            *(When(waiting, then=Value(task_name)) for task_name, waiting in self.pending.items()),
            default=Value(""),
            output_field=CharField(),
        )
        return (
            self.model._default_manager.filter(pk=verification_id)
            .annotate(next_task=next_task)
            .values_list("next_task", flat=True)
            .get()
        )

    def enqueue(self, task_name: str, verification_id: int) -> None:
        """Queue a task by its registered name once the transaction commits (primary key only)."""
        send_after_commit(task_name, verification_id)

    def sweep(self, *, now: datetime | None = None) -> dict[str, int]:
        """Re-enqueue work the broker may have lost: records waiting for a worker longer than
        ``VERIFICATION_STUCK_AFTER``. Safe any time: every task is idempotent. Returns how many
        were sent, by task (``{"check_identity": 1, ...}``)."""
        now = now or timezone.now()
        quiet = self.model._default_manager.filter(
            updated_at__lt=now - timedelta(seconds=app_settings.STUCK_AFTER)
        )
        counts: dict[str, int] = {}
        for task_name, waiting in self.pending.items():
            ids = list(quiet.filter(waiting).values_list("pk", flat=True)[:SWEEP_BATCH])
            with transaction.atomic():
                for verification_id in ids:
                    self.enqueue(task_name, verification_id)
            counts[task_name.rpartition(".")[2]] = len(ids)
        metrics.observe_sweep(kind=self.model.kind, requeued=counts)
        if any(counts.values()):
            logger.info("sweeper re-enqueued %s", counts)
        return counts
