"""``manage.py check_sms NAME``: prove an SMS carrier's credentials, clock, signature and code
template with one call that sends nothing and costs nothing, before the first real code."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from accounts.sms import BACKEND_NAMES, SmsCarrierUnreachable, SmsSendError, backend_paths


class Command(BaseCommand):
    help = (
        "Make one signed call that sends no text (Aliyun QuerySmsTemplate, Tencent "
        "DescribeSmsTemplateList of the code template) to an SMS carrier, and explain any "
        "refusal: wrong key, bad signature, clock skew, missing permission, template not "
        "approved. NAME is aliyun, tencent or a backend's dotted path; without one, every "
        "configured backend (SMS_BACKEND) is checked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME")

    def handle(self, *args: Any, names: list[str], **options: Any) -> None:
        paths = backend_paths(",".join(names)) if names else backend_paths()
        failed = [path for path in paths if not self._check(path)]
        if failed:
            raise CommandError(f"{len(failed)} of {len(paths)} SMS backend(s) failed")

    def _check(self, path: str) -> bool:
        label = next((name for name, known in BACKEND_NAMES.items() if known == path), path)
        try:
            backend = import_string(path)()
        except (ImportError, TypeError):
            self.stderr.write(
                f"{label}: no such SMS backend (known: {', '.join(BACKEND_NAMES)}, or a dotted "
                "path)"
            )
            return False
        try:
            line = backend.probe()
        except SmsCarrierUnreachable as trouble:
            self.stderr.write(
                f"{label}: UNREACHABLE: {trouble} (no answer: check the endpoint setting, DNS, "
                "the firewall and any outbound proxy, then try again)"
            )
            return False
        except SmsSendError as refusal:
            self.stderr.write(f"{label}: REFUSED: {refusal}")
            return False
        self.stdout.write(f"{label}: OK: {line}")
        return True
