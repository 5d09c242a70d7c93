"""A paginator that never counts a whole table: the admin's "N results" and page links come
from a count that stops at a cap, so a queue of millions opens as fast as one of fifty. Past
the cap (20 pages of 50), staff narrow the queue with its filters and search instead."""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator

COUNT_CAP = 1_000


class CappedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        # SELECT COUNT(*) FROM (SELECT ... LIMIT cap + 1): stops reading at the cap.
        return self.object_list[: COUNT_CAP + 1].count()  # type: ignore[attr-defined]

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_CAP
