"""CSV import of discharges from a hospital's information system, in three steps:

1. :func:`upload` keeps the file (encrypted, :class:`~maillage.care.letters.models.ImportDraft`)
   and reads its header (separator ``;`` or ``,``, UTF-8 or Windows-1252);
2. :func:`guess_mapping` proposes a column for each field (``data/columns.yaml``), the referent
   corrects it;
3. :func:`run` checks every row (French errors with file, line and column) and, when none is
   wrong, writes all the rows in one transaction — all or nothing.

A stay is named by its hospital and the hospital's stay number: hospitals export their
discharges again and again (the letter's date filled in later), so a row whose stay is already
recorded updates it (only what changed; an empty optional cell erases nothing) instead of
being refused or duplicated, and importing the same file twice changes nothing. A known stay
number whose identity differs (another name, birth date or sex) is refused: a wrong number
must not move a stay to another person.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from maillage.care.letters.models import Discharge, ImportDraft, discharge_errors
from maillage.care.letters.personal_data import PURPOSE, hospitals_of
from maillage.care.letters.services import discharges as service
from maillage.care.people import audit
from maillage.care.people.forms import find_commune
from maillage.care.people.services import normalise_traits
from maillage.directory.models import Organization, Practitioner
from maillage.territory.models import Commune

PARIS = ZoneInfo("Europe/Paris")
MAX_BYTES = 5_000_000
MAX_ROWS = 20_000
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
DATETIME_FORMATS = (
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
)  # fmt: skip


class ImportRefused(ValueError):
    """The file cannot be read at all (French message)."""


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"ligne {self.line}" + (f", colonne « {self.column} »" if self.column else "")
        return f"{where} : {self.message}"


@dataclass
class Outcome:
    filename: str
    rows: int = 0
    created: list[Discharge] = field(default_factory=list)
    updated: list[Discharge] = field(default_factory=list)
    unchanged: list[Discharge] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def counts(self) -> str:
        """ "3 créés, 1 modifié, 0 inchangés" (the stays of the file)."""

        def part(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        return ", ".join(
            [
                part(len(self.created), "créé"),
                part(len(self.updated), "modifié"),
                part(len(self.unchanged), "inchangé"),
            ]
        )


def simplify(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: how names and values are compared."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).parent.parent / "data" / "columns.yaml").read_text())


def fields() -> list[dict[str, Any]]:
    return [{"required": True, **f} for f in spec()["fields"]]


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused("Le fichier n'est pas un texte lisible (UTF-8 ou Windows-1252).")


def _reader(text: str) -> csv.reader:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    return csv.reader(io.StringIO(text), delimiter=delimiter)


def header(text: str) -> list[str]:
    try:
        head = next(_reader(text))
    except StopIteration:
        raise ImportRefused("Le fichier est vide.") from None
    head = [h.strip() for h in head]
    if not any(head):
        raise ImportRefused("La première ligne doit donner le nom des colonnes.")
    if len(set(head)) != len(head):
        raise ImportRefused("Deux colonnes portent le même nom sur la première ligne.")
    return head


def upload(user: Any, hospital: Organization, filename: str, raw: bytes) -> ImportDraft:
    """Keep the uploaded file for the mapping step (ImportRefused in French if unreadable)."""
    if hospital.pk not in hospitals_of(user) and not user.is_superuser:
        raise PermissionDenied("Cet établissement n'est pas le vôtre.")
    if len(raw) > MAX_BYTES:
        raise ImportRefused("Le fichier dépasse 5 Mo : découpez-le.")
    text = _decode(raw)
    header(text)
    return ImportDraft.objects.create(
        user=user, hospital=hospital, filename=Path(filename).name[:200], content=text
    )


def get_draft(user: Any, pk: int) -> ImportDraft:
    return ImportDraft.objects.select_related("hospital").get(pk=pk, user=user)


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """{field: column} for each field a column's name matches (aliases of columns.yaml)."""
    simple = {simplify(c): c for c in columns}
    mapping = {}
    for f in fields():
        for alias in [f["name"], f["label"], *f["aliases"]]:
            if simplify(alias) in simple:
                mapping[f["name"]] = simple[simplify(alias)]
                break
    return mapping


def mapping_errors(mapping: dict[str, str], columns: list[str]) -> list[str]:
    errors = []
    for f in fields():
        column = mapping.get(f["name"], "")
        if column and column not in columns:
            errors.append(f"{f['label']} : la colonne « {column} » n'existe pas.")
        elif not column and f["required"]:
            errors.append(f"{f['label']} : choisissez la colonne qui le donne.")
    used = [c for c in mapping.values() if c]
    if len(used) != len(set(used)):
        errors.append("Une même colonne est choisie pour deux champs.")
    return errors


def _choice(kind: str, value: str) -> str | None:
    wanted = simplify(value)
    for code, aliases in spec()[kind].items():
        if wanted in {simplify(code), *(simplify(a) for a in aliases)}:
            return code
    return None


def _datetime(value: str) -> dt.datetime | None:
    for fmt in DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=PARIS)
        except ValueError:
            continue
    return None


def _date(value: str) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


#: The identity traits a known stay must keep, with the field of the file that gives each.
IDENTITY = (
    ("birth_name", "nom de naissance"), ("first_names", "prénoms"),
    ("birth_date", "date de naissance"), ("sex", "sexe"),
)  # fmt: skip
#: The discharge's fields a re-export may change; the optional ones only when given.
UPDATABLE = ("service", "admission_at", "discharge_at", "destination", "gp", "letter_sent_at",
             "channel", "residence_commune")  # fmt: skip
OPTIONAL = ("gp", "letter_sent_at", "channel", "residence_commune")


def _commune(value: str, seen: dict[str, Commune | str]) -> Commune | str:
    """The commune an INSEE or postal code (or "52100 Saint-Dizier") names, else the French
    error; each distinct value looked up once per file (``seen``)."""
    if value not in seen:
        try:
            seen[value] = find_commune(value)
        except ValidationError as exc:
            seen[value] = exc.messages[0]
    return seen[value]


@dataclass
class _Row:
    line: int
    traits: dict[str, Any]
    values: dict[str, Any]
    known: Discharge | None = None  # the stay already recorded under this number

    def wanted(self) -> dict[str, Any]:
        """The values this row sets on a known stay (an empty optional cell keeps the
        stay's value)."""
        return {
            k: self.values[k]
            for k in UPDATABLE
            if k not in OPTIONAL or self.values[k] not in (None, "")
        }


def identity_conflict(person: Any, traits: dict[str, Any]) -> str | None:
    """The first identity field on which the file's row and the known stay's person differ."""
    given = normalise_traits(traits)
    for name, _ in IDENTITY:
        mine, theirs = getattr(person, name), given.get(name)
        if name == "first_names":
            mine, theirs = (mine or "").casefold(), (theirs or "").casefold()
        if mine != theirs:
            return name
    return None


def _parse_row(
    line: int,
    cells: dict[str, str],
    mapping: dict[str, str],
    hospital: Organization,
    now: dt.datetime,
    errors: list[RowError],
    communes: dict[str, Commune | str] | None = None,
) -> _Row | None:
    found: list[RowError] = []

    def cell(name: str) -> str:
        return cells.get(mapping.get(name, ""), "").strip()

    def fail(name: str, message: str) -> None:
        found.append(RowError(line, mapping.get(name, ""), message))

    labels = {f["name"]: f for f in fields()}
    for name, f in labels.items():
        if f["required"] and not cell(name):
            fail(name, f"{f['label']} manquant(e).")
    traits: dict[str, Any] = {"birth_name": cell("birth_name"), "first_names": cell("first_names")}
    values: dict[str, Any] = {"hospital": hospital, "service": cell("service")[:120]}
    values["stay_number"] = cell("stay_number")
    if len(values["stay_number"]) > 40:
        fail("stay_number", "numéro de séjour trop long (40 caractères au plus).")
    if cell("birth_date"):
        born = _date(cell("birth_date"))
        if born is None:
            fail("birth_date", "date de naissance illisible (attendu jj/mm/aaaa).")
        elif born > now.date():
            fail("birth_date", "la date de naissance est dans le futur.")
        traits["birth_date"] = born
    if cell("sex"):
        traits["sex"] = _choice("sex", cell("sex"))
        if traits["sex"] is None:
            fail("sex", f"sexe « {cell('sex')} » inconnu (F, M ou I).")
    for name in ("admission_at", "discharge_at", "letter_sent_at"):
        values[name] = None
        if cell(name):
            values[name] = _datetime(cell(name))
            if values[name] is None:
                fail(name, "date et heure illisibles (attendu jj/mm/aaaa hh:mm).")
    if cell("destination"):
        values["destination"] = _choice("destination", cell("destination"))
        if values["destination"] is None:
            fail("destination", f"destination « {cell('destination')} » inconnue.")
    values["channel"] = ""
    if cell("channel"):
        values["channel"] = _choice("channel", cell("channel")) or ""
        if not values["channel"]:
            fail("channel", f"canal « {cell('channel')} » inconnu.")
    values["residence_commune"] = None
    if cell("residence"):
        commune = _commune(cell("residence"), {} if communes is None else communes)
        if isinstance(commune, str):
            fail("residence", commune)
        values["residence_commune"] = None if isinstance(commune, str) else commune
    values["gp"] = None
    if cell("gp_rpps"):
        values["gp"] = Practitioner.objects.filter(rpps=cell("gp_rpps")).first()
        if values["gp"] is None:
            fail("gp_rpps", f"aucun médecin de l'annuaire n'a le RPPS {cell('gp_rpps')}.")
    if not found:
        problems = discharge_errors(
            values["admission_at"], values["discharge_at"], values["letter_sent_at"],
            values["channel"], None, now,
        )  # fmt: skip
        for name, message in problems.items():
            fail(name if name in mapping else "letter_sent_at", message)
    if not found:
        try:
            service.new_person(traits)
        except ValueError as exc:
            found.append(RowError(line, "", f"identité refusée : {exc}"))
    errors.extend(found)
    return None if found else _Row(line, traits, values)


def check(
    draft: ImportDraft, mapping: dict[str, str], now: dt.datetime
) -> tuple[list[_Row], list[RowError]]:
    """Every row read and checked against the file and the stays already recorded (whose
    reading is audited as one list); nothing written."""
    errors: list[RowError] = []
    rows: list[_Row] = []
    reader = _reader(draft.content)
    columns = [h.strip() for h in next(reader)]
    seen: dict[str, int] = {}
    communes: dict[str, Commune | str] = {}
    for line, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(RowError(line, "", f"plus de {MAX_ROWS} lignes : découpez le fichier."))
            break
        if len(raw) != len(columns):
            errors.append(RowError(line, "", f"{len(raw)} cellules au lieu de {len(columns)}."))
            continue
        row = _parse_row(line, dict(zip(columns, raw, strict=True)), mapping, draft.hospital,
                         now, errors, communes)  # fmt: skip
        if row is None:
            continue
        number = row.values["stay_number"]
        if number in seen:
            message = f"séjour {number} déjà présent ligne {seen[number]}."
            errors.append(RowError(line, mapping["stay_number"], message))
            continue
        seen[number] = line
        rows.append(row)
    _match_known(draft, rows, mapping, now, errors)
    if not rows and not errors:
        errors.append(RowError(1, "", "aucune ligne de données."))
    return rows, errors


def _match_known(
    draft: ImportDraft,
    rows: list[_Row],
    mapping: dict[str, str],
    now: dt.datetime,
    errors: list[RowError],
) -> None:
    """Each row whose stay is already recorded: its identity checked, its new dates checked
    against what the stay keeps (the acknowledgement); refused rows leave ``rows``."""
    numbers = [r.values["stay_number"] for r in rows]
    known: dict[str, Discharge] = {}
    for start in range(0, len(numbers), 500):  # SQLite's limit on query parameters
        known.update(
            (d.stay_number, d)
            for d in Discharge.objects.filter(
                hospital=draft.hospital, stay_number__in=numbers[start : start + 500]
            ).select_related("person")
        )
    audit.record_list(draft.user, list(known.values()), PURPOSE, reason="import_match")
    labels = dict(IDENTITY)
    kept = []
    for row in rows:
        row.known = known.get(row.values["stay_number"])
        if row.known is not None:
            field_name = identity_conflict(row.known.person, row.traits)
            if field_name is not None:
                errors.append(RowError(
                    row.line, mapping.get(field_name, ""),
                    f"le séjour {row.values['stay_number']} est déjà enregistré pour une autre "
                    f"identité ({labels[field_name]} différent(e)) : vérifiez le numéro de "
                    "séjour ou l'identité.",
                ))  # fmt: skip
                continue
            merged = {**{k: getattr(row.known, k) for k in UPDATABLE}, **row.wanted()}
            problems = discharge_errors(
                merged["admission_at"], merged["discharge_at"], merged["letter_sent_at"],
                merged["channel"], row.known.acknowledged_at, now,
            )  # fmt: skip
            if problems:
                for name, message in problems.items():
                    column = mapping.get(name, "") or mapping.get("letter_sent_at", "")
                    errors.append(RowError(row.line, column, message))
                continue
        kept.append(row)
    rows[:] = kept


def write(
    user: Any, draft: ImportDraft, rows: list[_Row], synthetic: bool = False
) -> tuple[list[Discharge], list[Discharge], list[Discharge]]:
    """All the checked rows in one transaction — new stays created, known ones updated where
    they differ (each audited) — and (created, updated, unchanged). One failing row (a stay
    number recorded meanwhile, a scope refused) and none is written (ImportRefused, French)."""
    created: list[Discharge] = []
    updated: list[Discharge] = []
    unchanged: list[Discharge] = []
    with transaction.atomic():
        for row in rows:
            try:
                if row.known is None:
                    person = service.new_person(row.traits)
                    created.append(service.save_discharge(user, person, row.values, synthetic))
                    continue
                stay, changed = service.update_discharge(user, row.known.pk, row.wanted())
                (updated if changed else unchanged).append(stay)
                continue
            except IntegrityError:
                message = "séjour déjà enregistré"
            except Discharge.DoesNotExist:
                message = "séjour supprimé ou renuméroté pendant l'import."
            except (ValidationError, PermissionDenied) as exc:
                message = " ".join(getattr(exc, "messages", [])) or str(exc)
            raise ImportRefused(f"ligne {row.line} : {message} Rien n'a été importé.")
        draft.delete()
    return created, updated, unchanged


def run(
    user: Any, draft: ImportDraft, mapping: dict[str, str], now: dt.datetime | None = None
) -> Outcome:
    """Check every row; write them all if none is wrong (audited), else nothing."""
    now = now or timezone.now()
    outcome = Outcome(filename=draft.filename)
    rows, outcome.errors = check(draft, mapping, now)
    outcome.rows = len(rows) + len({e.line for e in outcome.errors})
    if outcome.errors:
        audit.record(
            user, "view", None, PURPOSE, refused_rows=len({e.line for e in outcome.errors})
        )
        return outcome
    outcome.created, outcome.updated, outcome.unchanged = write(user, draft, rows)
    return outcome
