from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager

from .phone import normalize_phone


class UserManager[UserT: AbstractBaseUser](BaseUserManager[UserT]):
    """Users are created by mobile number; the model is generic so this module need not import
    the model that uses it."""

    use_in_migrations = True

    def _create_user(self, phone: str | None, password: str | None, **extra: Any) -> UserT:
        email = self.normalize_email(extra.pop("email", "") or "")
        user = self.model(phone=normalize_phone(phone) if phone else None, email=email, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
        user.save(using=self._db)
        return user

    def create_user(
        self, phone: str | None = None, password: str | None = None, **extra: Any
    ) -> UserT:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(phone, password, **extra)

    def create_superuser(
        self, phone: str | None = None, password: str | None = None, **extra: Any
    ) -> UserT:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(phone, password, **extra)
