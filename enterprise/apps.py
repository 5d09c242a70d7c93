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

    # The migrate_to_person_keys command asks every app config with these for its files written
    # under a master key, and moves each to its owner's person key.
    def person_files(self) -> Iterator[tuple[str, int]]:
        """(storage name, owner's user id) of every licence file (originals and previews)."""
        from .models import EnterpriseVerification

        rows = EnterpriseVerification._base_manager.values_list(
            "licence_name", "licence_preview_name", "user_id"
        )
        for original, preview, user_id in rows.order_by("pk").iterator(chunk_size=1000):
            yield from ((name, user_id) for name in (original, preview) if name)

    def file_is_person_sealed(self, name: str) -> bool:
        from .storage import licence_is_person_sealed

        return licence_is_person_sealed(name)

    def seal_file_for_person(self, name: str, owner: int) -> bool:
        from .storage import licence_seal_for_person

        return licence_seal_for_person(name, owner)
