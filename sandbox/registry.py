"""The sandbox's stand-ins for the authoritative registries, each a CSV file held in memory:
people (identity checks) and companies (enterprise three-factor checks)."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from stdnum.cn import uscc

DEMO_REGISTRY = Path(__file__).resolve().parent / "demo_registry.csv"
DEMO_COMPANY_REGISTRY = Path(__file__).resolve().parent / "demo_company_registry.csv"
COLUMNS = ("name", "document_type", "document_number", "birth_date")
COMPANY_COLUMNS = ("company_name", "credit_code", "legal_representative")

# The document types the sandbox knows (the values of verification.documents.DocumentType).
DOCUMENT_TYPES = frozenset(
    {
        "cn_resident_id",
        "hk_mo_travel_permit",
        "tw_travel_permit",
        "hk_mo_residence_permit",
        "tw_residence_permit",
        "foreign_permanent_resident_id",
    }
)

PASS = "pass"  # noqa: S105 - a result, not a password
FAIL = "fail"
OK = "ok"
NAME_NUMBER_MISMATCH = "name_number_mismatch"
NO_SUCH_RECORD = "no_such_record"
BIRTH_DATE_MISMATCH = "birth_date_mismatch"
COMPANY_MISMATCH = "company_mismatch"
LEGAL_REPRESENTATIVE_MISMATCH = "legal_representative_mismatch"
NO_SUCH_COMPANY = "no_such_company"


class RegistryError(Exception):
    """The registry file is unusable. The message names a line, never its content."""


@dataclass(frozen=True)
class Person:
    name: str
    document_type: str
    document_number: str
    birth_date: date | None


@dataclass(frozen=True)
class CompanyRecord:
    name: str
    credit_code: str
    legal_representative: str


def normalise_number(number: str) -> str:
    return "".join(number.split()).upper()


def normalise_name(name: str) -> str:
    """Compare names as a clerk would: full-width forms folded, spacing and case ignored."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def normalise_company_name(name: str) -> str:
    """Company names match exactly, except for spacing and the width of the parentheses that
    registered names write both ways (``（北京）`` and ``(北京)``)."""
    return " ".join(name.replace("（", "(").replace("）", ")").split())


def _rows(source: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` of a CSV file that must have exactly ``columns``."""
    try:
        with source.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != columns:
                raise RegistryError(f"{source}: the columns must be {','.join(columns)}")
            for row in reader:
                yield reader.line_num, row
    except OSError as exc:
        raise RegistryError(f"{source}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error):
        raise RegistryError(f"{source}: not a UTF-8 CSV file") from None


class Registry:
    """Read-only after loading, so it is shared by the server's threads without a lock."""

    def __init__(self, people: list[Person]) -> None:
        self._people = {(p.document_type, normalise_number(p.document_number)): p for p in people}

    def __len__(self) -> int:
        return len(self._people)

    @classmethod
    def from_csv(cls, path: str | Path = "") -> Registry:
        """Load ``path``, or the built-in demo registry when it is empty."""
        source = Path(path) if path else DEMO_REGISTRY
        return cls([_person(row, source, line) for line, row in _rows(source, COLUMNS)])

    def document_type_of(self, document_number: str) -> str | None:
        """The type of the document with this number, for vendors that send a number only."""
        number = normalise_number(document_number)
        return next((t for (t, n) in self._people if n == number), None)

    def check(
        self,
        *,
        name: str,
        document_type: str,
        document_number: str,
        birth_date: date | None = None,
    ) -> tuple[str, str]:
        """``(result, reason)``: the number decides the record, then the name, then the birth
        date when both sides have one, as the real registries answer."""
        person = self._people.get((document_type, normalise_number(document_number)))
        if person is None:
            return FAIL, NO_SUCH_RECORD
        if normalise_name(person.name) != normalise_name(name):
            return FAIL, NAME_NUMBER_MISMATCH
        if person.birth_date and birth_date and person.birth_date != birth_date:
            return FAIL, BIRTH_DATE_MISMATCH
        return PASS, OK


def _person(row: dict[str, str], source: Path, line: int) -> Person:
    name = (row.get("name") or "").strip()
    document_type = (row.get("document_type") or "").strip()
    document_number = normalise_number(row.get("document_number") or "")
    birth = (row.get("birth_date") or "").strip()
    if not name or not document_number:
        raise RegistryError(f"{source}, line {line}: name and document_number are required")
    if document_type not in DOCUMENT_TYPES:
        raise RegistryError(f"{source}, line {line}: unknown document_type")
    try:
        birth_date = date.fromisoformat(birth) if birth else None
    except ValueError:
        raise RegistryError(f"{source}, line {line}: birth_date is not an ISO date") from None
    return Person(name, document_type, document_number, birth_date)


class CompanyRegistry:
    """The business registry, keyed by unified social credit code. Read-only after loading."""

    def __init__(self, companies: list[CompanyRecord]) -> None:
        self._companies = {company.credit_code: company for company in companies}

    def __len__(self) -> int:
        return len(self._companies)

    @classmethod
    def from_csv(cls, path: str | Path = "") -> CompanyRegistry:
        """Load ``path``, or the built-in demo company registry when it is empty."""
        source = Path(path) if path else DEMO_COMPANY_REGISTRY
        companies: list[CompanyRecord] = []
        seen: set[str] = set()
        for line, row in _rows(source, COMPANY_COLUMNS):
            company = _company(row, source, line)
            if company.credit_code in seen:
                raise RegistryError(f"{source}, line {line}: credit_code appears twice")
            seen.add(company.credit_code)
            companies.append(company)
        return cls(companies)

    def check(
        self, *, company_name: str, credit_code: str, legal_representative: str
    ) -> tuple[str, str]:
        """``(result, reason)``: the credit code decides the record, then the company name,
        then the legal representative (compared as a person's name is)."""
        company = self._companies.get(normalise_number(credit_code))
        if company is None:
            return FAIL, NO_SUCH_COMPANY
        if normalise_company_name(company.name) != normalise_company_name(company_name):
            return FAIL, COMPANY_MISMATCH
        if normalise_name(company.legal_representative) != normalise_name(legal_representative):
            return FAIL, LEGAL_REPRESENTATIVE_MISMATCH
        return PASS, OK


def _company(row: dict[str, str], source: Path, line: int) -> CompanyRecord:
    name = (row.get("company_name") or "").strip()
    credit_code = normalise_number(row.get("credit_code") or "")
    legal_representative = (row.get("legal_representative") or "").strip()
    if not name or not credit_code or not legal_representative:
        raise RegistryError(
            f"{source}, line {line}: company_name, credit_code and legal_representative "
            "are required"
        )
    if not uscc.is_valid(credit_code):
        raise RegistryError(
            f"{source}, line {line}: credit_code is not a valid unified social credit code"
        )
    return CompanyRecord(name, credit_code, legal_representative)
