"""The review desk: one queue of every verification needing attention (``queue``), a detail page
with the timeline, masked data, the licence, notes and actions (``detail``), and the audit log
(``audit``). Every action goes through support.services, which checks the permission and writes
the audit entry. Importing this package registers the admins."""

from .audit import AuditEntryAdmin
from .detail import DESK_ACTIONS, ReviewDetailMixin
from .queue import ReviewQueueAdmin

__all__ = ["DESK_ACTIONS", "AuditEntryAdmin", "ReviewDetailMixin", "ReviewQueueAdmin"]
