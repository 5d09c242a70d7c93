"""The sandbox identity provider: a separate HTTP service that plays the external vendor.

Run it with ``manage.py run_sandbox_provider``; our client for it is
``verification.providers.sandbox.SandboxProvider``. See README.md beside this file."""
