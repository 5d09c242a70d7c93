"""The custom user model: phone numbers in E.164, unique, enforced by Postgres itself."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import User
from accounts.phone import mask_phone, normalize_phone

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("+852 6123 4567", "+85261234567"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phone_is_stored_in_e164(given, stored):
    user = User.objects.create_user(phone=given)

    user.refresh_from_db()
    assert user.phone == stored
    assert User.objects.get(phone=given) == user  # lookups are normalised too


@pytest.mark.parametrize("given", ["12345", "abc", "+86 100 0000 0000", ""])
def test_invalid_phone_is_refused_with_a_message(given):
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone(given)
    assert excinfo.value.code == "invalid_phone"


def test_one_number_one_account_at_the_database():
    User.objects.create_user(phone="13800138000")

    with pytest.raises(IntegrityError, match="accounts_user_phone_unique"), transaction.atomic():
        User.objects.create(phone="+86 138 0013 8000")


def test_database_refuses_a_phone_not_in_e164():
    user = User.objects.create_user(phone="13800138000")

    with (
        pytest.raises(IntegrityError, match="accounts_user_phone_e164"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE accounts_user SET phone = '138 0013 8000' WHERE id = %s", [user.pk])


def test_many_accounts_without_phone_are_allowed():
    User.objects.create_user(email="a@example.com")
    User.objects.create_user(email="b@example.com")

    assert User.objects.filter(phone__isnull=True).count() == 2


def test_email_is_optional_and_unique_ignoring_case():
    User.objects.create_user(phone="13800138000", email="Lin@Example.com")

    with pytest.raises(IntegrityError, match="accounts_user_email_unique_ci"), transaction.atomic():
        User.objects.create(phone="13900139000", email="lin@example.com")


def test_a_verified_phone_must_exist():
    with (
        pytest.raises(IntegrityError, match="accounts_user_verified_phone_present"),
        transaction.atomic(),
    ):
        User.objects.create(phone=None, phone_verified=True)


def test_superuser_by_phone_with_password():
    admin = User.objects.create_superuser(phone="13800138000", password="a long pass phrase 42")

    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("a long pass phrase 42")


def test_display_is_masked():
    user = User.objects.create_user(phone="13800138000")

    assert str(user) == "+86 138****8000"
    assert mask_phone("+85261234567") == "+852 61**4567"
    assert "13800138000" not in str(user)
