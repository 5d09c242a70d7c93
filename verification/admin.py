"""Support staff see personal verifications in the support desk (support.admin), masked, with
every reveal and action audited; there is deliberately no model admin for them here."""
