from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from verification.apps import KindConfig


class EnterpriseConfig(KindConfig):
    default = True
    name = "enterprise"
    verbose_name = _("Enterprise verification")
    lifecycle = "enterprise.services.enterprise"

    # The reencrypt_personal_data command asks every app config with these methods for its
    # encrypted files, so key rotation covers files as well as database columns.
    def encrypted_files(self) -> Iterator[str]:
        """Storage names of every encrypted licence file (originals and previews)."""
        from .models import EnterpriseVerification

        rows = EnterpriseVerification.objects.values_list("licence_name", "licence_preview_name")
        for names in rows.order_by("pk").iterator(chunk_size=1000):
            yield from (name for name in names if name)

    def encrypted_file_key_id(self, name: str) -> str:
        from .storage import licence_key_id

        return licence_key_id(name)

    def reencrypt_file(self, name: str) -> bool:
        from .storage import licence_reencrypt

        return licence_reencrypt(name)
