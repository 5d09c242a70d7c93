"""The shared kernel: what every app uses and that knows no app of ours.

Encryption (``crypto``, ``fields``), rate limits, queueing work to the workers, health checks,
request helpers, log masking and the ``app_settings`` base. Nothing here imports accounts,
verification, enterprise, support or the project package."""
