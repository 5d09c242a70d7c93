"""The sandbox's stand-in for the authoritative identity registry: a CSV file held in memory."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEMO_REGISTRY = Path(__file__).resolve().parent / "demo_registry.csv"
COLUMNS = ("name", "document_type", "document_number", "birth_date")

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


class RegistryError(Exception):
    """The registry file is unusable. The message names a line, never its content."""


@dataclass(frozen=True)
class Person:
    name: str
    document_type: str
    document_number: str
    birth_date: date | None


def normalise_number(number: str) -> str:
    return "".join(number.split()).upper()


def normalise_name(name: str) -> str:
    """Compare names as a clerk would: full-width forms folded, spacing and case ignored."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


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
        try:
            with source.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if tuple(reader.fieldnames or ()) != COLUMNS:
                    raise RegistryError(f"{source}: the columns must be {','.join(COLUMNS)}")
                people = [_person(row, source, reader.line_num) for row in reader]
        except OSError as exc:
            raise RegistryError(f"{source}: cannot be read ({exc.strerror})") from None
        return cls(people)

    def check(
        self, *, name: str, document_type: str, document_number: str, birth_date: date | None
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
