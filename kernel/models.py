"""The kernel's one model: the record of each retention run (``kernel.retention``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionRun(models.Model):
    """One run of one retention job: when, and how many records it changed, by kind. Counts
    only, never a name, a number or a record's id. Append-only at the database (a trigger), as
    the consent records are: what was purged and when stays provable."""

    job = models.CharField(_("job"), max_length=60)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    # The point in time the periods were counted back from (the clock, unless a test or an
    # operator's replay passed another).
    cutoff_now = models.DateTimeField(_("counted from"))
    counts = models.JSONField(_("counts"), default=dict)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["job", "-started_at"], name="retention_run_latest")]

    def __str__(self) -> str:
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M}"
