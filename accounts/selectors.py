"""Reads about accounts and consent that more than one caller needs."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .models import ConsentRecord, LegalDocument, User


def legal_document_current(slug: str) -> LegalDocument | None:
    """The version in force now: the newest one whose effective date has come."""
    return (
        LegalDocument.objects.filter(slug=slug, effective_at__lte=timezone.now())
        .order_by("-version")
        .first()
    )


def legal_documents_current(slugs: Iterable[str]) -> list[LegalDocument]:
    """Current versions of ``slugs``, in the order given; slugs never published are left out."""
    wanted = list(slugs)
    current = (
        LegalDocument.objects.filter(slug__in=wanted, effective_at__lte=timezone.now())
        .defer("body_zh_hans", "body_en")  # the texts are long and rarely shown from here
        .order_by("slug", "-version")
        .distinct("slug")
    )
    by_slug = {document.slug: document for document in current}
    return [by_slug[slug] for slug in wanted if slug in by_slug]


def consent_latest_by_document(
    *, user: User, documents: Iterable[LegalDocument]
) -> dict[int, ConsentRecord]:
    """The newest record of ``user`` for each of ``documents`` (keyed by document id)."""
    records = (
        ConsentRecord.objects.filter(user=user, document__in=list(documents))
        .order_by("document_id", "-created_at", "-id")
        .distinct("document_id")
    )
    return {record.document_id: record for record in records}


def consent_missing(*, user: User, slugs: Iterable[str]) -> list[LegalDocument]:
    """Current documents among ``slugs`` that ``user`` has not accepted, or has withdrawn.
    A new version is missing until accepted, whatever was accepted before. One query: each
    current version with the user's latest action on it (every submission asks)."""
    wanted = list(slugs)
    latest_action = (
        ConsentRecord.objects.filter(user=user, document=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("action")[:1]
    )
    current = (
        LegalDocument.objects.filter(slug__in=wanted, effective_at__lte=timezone.now())
        .defer("body_zh_hans", "body_en")
        .annotate(latest_action=Subquery(latest_action))
        .order_by("slug", "-version")
        .distinct("slug")
    )
    missing = {
        document.slug: document
        for document in current
        if document.latest_action != ConsentRecord.Action.ACCEPTED  # type: ignore[attr-defined]
    }
    return [missing[slug] for slug in wanted if slug in missing]


def consent_history(*, user: User) -> list[ConsentRecord]:
    """Every acceptance and withdrawal of ``user``, newest first, for the account page."""
    return list(ConsentRecord.objects.filter(user=user).select_related("document"))
