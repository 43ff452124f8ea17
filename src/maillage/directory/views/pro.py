"""The professional space (``/pro/``): thin views over ``review`` and ``merge``.

Access: every page needs a login (anonymous users are sent to ``/connexion/?next=…``); the
coordinator pages ask ``can(user, "review")`` and answer 403 otherwise. The services audit
every write; these views add an audit event when pro-only data is shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from maillage.accounts.models import Role
from maillage.accounts.permissions import audit, can, role_of
from maillage.directory import review
from maillage.directory.changes import ChangeProposal, MergeImport
from maillage.directory.forms import EntryForm, MappingForm, ReviewForm, UploadForm
from maillage.directory.imports import merge
from maillage.directory.languages import LANGUAGE_NAMES
from maillage.directory.models import (
    HealthcareService,
    Location,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
    Scheme,
)
from maillage.opendata.nomenclatures import PROFESSIONS, SPECIALTIES

TYPE_NAMES = {
    "practitioner": "Professionnel",
    "organization": "Structure",
    "location": "Lieu d'exercice",
    "service": "Service",
    "scheme": "Dispositif",
    "role": "Activité",
}
TYPE_LABELS = {
    "practitioner": "Professionnels",
    "organization": "Structures",
    "location": "Lieux d'exercice",
    "service": "Services",
    "scheme": "Dispositifs",
    "role": "Activités",
}


#: On a professional's own page, the place's form leaves out what the person's form and the
#: activity's form already ask (MSSanté, direct line, notes; teleconsultation), so that no
#: question appears twice. Coordinators still edit a place's own values from its history page.
PERSONAL_FIELDS = ("mssante", "direct_line", "notes_pro", "teleconsultation")

# --------------------------------------------------------------------------- helpers


def _coordinator(request: HttpRequest) -> None:
    if not can(request.user, "review"):
        audit(request.user, "forbidden", None, path=request.path)
        raise PermissionDenied("Page réservée aux coordinateurs.")


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render with what the pro navigation needs (role, count of pending proposals)."""
    is_coordinator = can(request.user, "review")
    scope = context.get("scope")
    if is_coordinator and scope is None:
        scope = review.work_scope(request.user, request.GET.get("territoire", ""))
    context.setdefault("section", "")
    if "pending_count" not in context:
        context["pending_count"] = (
            0
            if scope is None
            else review.pending().count()
            if scope.may_see_everywhere and scope.selected == ""
            else len(review.pending_in(scope))
        )
    role = role_of(request.user) or ""
    has_entry = _practitioner_of(request.user) is not None
    context.update(
        is_coordinator=is_coordinator,
        role_label=dict(_role_labels()).get(role, ""),
        has_entry=has_entry,
        # a professional linked to the directory has the page of the patients the care apps
        # address to them (care.scheduling's, under /pro/mes-patients/)
        gp_page=has_entry and role == Role.PROFESSIONAL,
    )
    return render(request, f"directory/pro/{template}", context)


def _role_labels() -> list[tuple[str, str]]:
    return list(Role.choices)


def _practitioner_of(user: Any) -> Practitioner | None:
    profile = getattr(user, "profile", None)
    return profile.practitioner if profile is not None else None


def display(value: Any) -> str:
    """A stored value as a person reads it (booleans, empty values, weekly hours)."""
    if value is None or value == "":
        return "—"
    if value is True:
        return "oui"
    if value is False:
        return "non"
    if isinstance(value, list):
        return review.format_opening_hours(value) or "—"
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def profession_label(role: PractitionerRole) -> str:
    label = PROFESSIONS.get(role.profession_code, role.profession_code)
    if role.specialty_code:
        label += " — " + SPECIALTIES.get(role.specialty_code, role.specialty_code)
    return label


def _describe(target_type: str, obj: Any) -> str:
    if obj is None:
        return "(fiche supprimée)"
    if target_type == "role":
        return f"{obj.practitioner} — {profession_label(obj)}"
    if target_type == "location":
        return f"{obj.name}, {obj.commune.name}" if obj.commune_id else obj.name
    return str(obj)


def _proposal_view(proposal: ChangeProposal) -> dict[str, Any]:
    try:
        target = review.target_of(proposal)
    except models.ObjectDoesNotExist:
        target = None
    rows = [
        {
            "label": row.label[:1].upper() + row.label[1:],
            "before": display(row.before),
            "after": display(row.after),
            "current": display(row.current),
            "moved": row.moved and target is not None,
            "multiline": isinstance(row.after, list),
        }
        for row in review.diff(proposal)
    ]
    return {
        "proposal": proposal,
        "target": target,
        "target_label": _describe(proposal.target_type, target),
        "type_label": TYPE_NAMES.get(proposal.target_type, proposal.target_type),
        "rows": rows,
    }


# --------------------------------------------------------------------------- pages


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Professionals land on their entry; coordinators on the to-do overview."""
    if not can(request.user, "review"):
        return redirect("pro:my_entry")
    scope = review.work_scope(request.user, request.GET.get("territoire", ""))
    stale = review.stale_entries(12, scope=scope)
    return _page(
        request,
        "home.html",
        {
            "section": "home",
            "scope": scope,
            "stale_counts": [(TYPE_LABELS[k], k, qs.count()) for k, qs in stale.items()],
            "imports": MergeImport.objects.select_related("created_by")[:5],
        },
    )


@login_required
def my_entry(request: HttpRequest) -> HttpResponse:
    """A professional's own entry, pro-only fields included, and the form to propose changes."""
    practitioner = _practitioner_of(request.user)
    if practitioner is None:
        return _page(request, "my_entry.html", {"section": "entry", "practitioner": None})
    roles = list(
        practitioner.roles.filter(active=True)
        .select_related("location__commune", "organization")
        .order_by("pk")
    )
    data = request.POST if request.method == "POST" else None
    forms: list[tuple[str, str, Any, EntryForm]] = [
        ("Vos coordonnées", "practitioner", practitioner,
         EntryForm("practitioner", practitioner, data, prefix="p")),
    ]  # fmt: skip
    for role in roles:
        where = f" à {role.location.commune.name}" if role.location_id else ""
        forms.append(
            (f"Activité : {profession_label(role)}{where}", "role", role,
             EntryForm("role", role, data, prefix=f"r{role.pk}"))
        )  # fmt: skip
        if role.location_id and can(request.user, "propose", role.location):
            forms.append(
                (f"Lieu d'exercice : {role.location.name}", "location", role.location,
                 EntryForm("location", role.location, data, prefix=f"l{role.location_id}",
                           exclude=PERSONAL_FIELDS))
            )  # fmt: skip
    # The same place may be shared by two activities: offer its form once.
    seen: set[str] = set()
    forms = [f for f in forms if not (f[3].prefix in seen or seen.add(f[3].prefix))]
    error = ""
    if request.method == "POST":
        comment = request.POST.get("comment", "")
        if all(f[3].is_valid() for f in forms):
            changes = [(target, form.changes()) for _, _, target, form in forms]
            changes = [(t, c) for t, c in changes if c]
            if not changes:
                error = "Aucune modification : les valeurs saisies sont celles de votre fiche."
            else:
                try:
                    with transaction.atomic():  # several entries: all proposals or none
                        for target, change in changes:
                            review.propose(request.user, target, change, comment)
                except ValueError as exc:
                    error = str(exc)
                else:
                    messages.success(
                        request,
                        "Merci : votre proposition est transmise au coordinateur, qui la publiera "
                        "après vérification.",
                    )
                    return redirect("pro:my_entry")
        else:
            error = "Certaines valeurs sont à corriger (voir en rouge)."
    audit(request.user, "view_pro", practitioner, page="my_entry")
    own_pending = [_proposal_view(p) for p in review.pending(request.user)]
    return _page(
        request,
        "my_entry.html",
        {
            "section": "entry",
            "practitioner": practitioner,
            "languages": [LANGUAGE_NAMES.get(c, c) for c in practitioner.languages.split(",") if c],
            "roles": [(r, profession_label(r)) for r in roles],
            "forms": forms,
            "error": error,
            "pending": own_pending,
            "recent": ChangeProposal.objects.filter(proposed_by=request.user)
            .exclude(status=ChangeProposal.Status.PENDING)
            .select_related("reviewed_by")[:5],
        },
    )


@login_required
def to_review(request: HttpRequest) -> HttpResponse:
    """Pending proposals with their before/after values, oldest first."""
    _coordinator(request)
    scope = review.work_scope(request.user, request.GET.get("territoire", ""))
    proposals = review.pending_in(scope)
    elsewhere: list[ChangeProposal] = []
    if scope.may_see_everywhere and scope.selected == "":
        # Someone who may review everywhere sees the platform's territory first, then the rest:
        # a proposal must never wait unseen because it is about another département.
        mine = {p.pk for p in proposals}
        elsewhere = [p for p in review.pending().order_by("proposed_at") if p.pk not in mine]
    return _page(
        request,
        "to_review.html",
        {
            "section": "review",
            "scope": scope,
            "items": [
                (_proposal_view(p), ReviewForm(prefix=f"p{p.pk}")) for p in proposals + elsewhere
            ],
            "elsewhere_from": len(proposals) if elsewhere else None,
            "pending_count": len(proposals) + len(elsewhere),  # _page need not count again
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator(request)
    proposal = get_object_or_404(ChangeProposal, pk=pk)
    form = ReviewForm(request.POST, prefix=f"p{pk}")
    if not form.is_valid():
        messages.error(request, "Choisissez « Publier » ou « Refuser ».")
        return redirect("pro:to_review")
    comment = form.cleaned_data["comment"]
    try:
        if form.cleaned_data["decision"] == "publish":
            review.publish(request.user, proposal, comment)
            messages.success(request, f"Proposition n° {pk} publiée.")
        else:
            review.reject(request.user, proposal, comment)
            messages.success(request, f"Proposition n° {pk} refusée.")
    except (ValueError, models.ObjectDoesNotExist) as exc:
        messages.error(request, f"Proposition n° {pk} : {exc}")
    return redirect("pro:to_review")


@login_required
def history_search(request: HttpRequest) -> HttpResponse:
    """Find an entry by name to read its history."""
    _coordinator(request)
    q = request.GET.get("q", "").strip()
    results: list[tuple[str, str, Any, str]] = []
    if len(q) >= 2:
        words = models.Q()
        for word in q.split():  # "Jean Martin" finds Martin Jean
            words &= models.Q(family_name__icontains=word) | models.Q(given_name__icontains=word)
        for p in Practitioner.objects.filter(words | models.Q(rpps=q))[:20]:
            results.append(("practitioner", "Professionnel", p, f"RPPS {p.rpps}" if p.rpps else ""))
        for o in Organization.objects.filter(
            models.Q(name__icontains=q) | models.Q(finess_et=q)
        ).select_related("commune")[:15]:
            results.append(("organization", "Structure", o, o.city))
        for loc in Location.objects.filter(name__icontains=q).select_related("commune")[:10]:
            results.append(("location", "Lieu", loc, loc.commune.name))
        for s in Scheme.objects.filter(name__icontains=q)[:10]:
            results.append(("scheme", "Dispositif", s, s.get_kind_display()))
    return _page(request, "history_search.html", {"section": "history", "q": q,
                                                   "results": results})  # fmt: skip


def _history_rows(target: Any) -> list[dict[str, Any]]:
    """Each version of ``target`` (newest first) with who, when, why and what changed."""
    model = type(target)
    records = list(target.history.select_related("history_user").order_by("-history_date"))
    rows = []
    for i, record in enumerate(records):
        previous = records[i + 1] if i + 1 < len(records) else None
        changes = []
        if previous is not None and record.history_type == "~":
            for change in record.diff_against(previous).changes:
                try:
                    label = str(model._meta.get_field(change.field).verbose_name)
                except Exception:  # noqa: BLE001 - a field removed since
                    label = change.field
                label = label[:1].upper() + label[1:]
                changes.append((label, display(change.old), display(change.new)))
        rows.append(
            {
                "date": record.history_date,
                "user": record.history_user,
                "kind": {"+": "création", "~": "modification", "-": "suppression"}.get(
                    record.history_type, record.history_type
                ),
                "reason": record.history_change_reason or "",
                "changes": changes,
            }
        )
    if isinstance(target, Location | HealthcareService):
        rows += _hours_rows(target)
        rows.sort(key=lambda row: row["date"], reverse=True)
    return rows


def _hours_rows(target: Location | HealthcareService) -> list[dict[str, Any]]:
    """The changes of a place's or service's weekly hours, one row per change (the review
    replaces the whole pattern: the slots removed and added in the same second)."""
    kind = "location" if isinstance(target, Location) else "service"
    records = OpeningHours.history.filter(**{f"{kind}_id": target.pk}).select_related(
        "history_user"
    )
    changes: dict[tuple, dict[str, list]] = {}
    for record in records.order_by("history_date"):
        key = (record.history_date.replace(microsecond=0), record.history_user_id)
        change = changes.setdefault(key, {"record": record, "-": [], "+": []})
        change["-" if record.history_type == "-" else "+"].append(str(record.instance))
    return [
        {
            "date": change["record"].history_date,
            "user": change["record"].history_user,
            "kind": "modification",
            "reason": change["record"].history_change_reason or "",
            "changes": [
                ("Horaires", " ; ".join(change["-"]) or "—", " ; ".join(change["+"]) or "—")
            ],
        }
        for change in changes.values()
    ]


@login_required
def history(request: HttpRequest, target_type: str, pk: int) -> HttpResponse:
    _coordinator(request)
    if target_type not in review.TARGET_MODELS:
        raise Http404("type d'entrée inconnu")
    target = get_object_or_404(review.TARGET_MODELS[target_type], pk=pk)
    related: list[tuple[str, str, Any]] = []
    if isinstance(target, Practitioner):
        for role in target.roles.select_related("location"):
            related.append(("role", profession_label(role), role))
            if role.location_id:
                related.append(("location", f"Lieu : {role.location.name}", role.location))
    audit(request.user, "view_history", target)
    proposals = ChangeProposal.objects.filter(target_type=target_type, target_id=pk).select_related(
        "proposed_by", "reviewed_by"
    )
    return _page(
        request,
        "history.html",
        {
            "section": "history",
            "target": target,
            "target_label": _describe(target_type, target),
            "type_label": TYPE_NAMES[target_type],
            "target_type": target_type,
            "rows": _history_rows(target),
            "proposals": [_proposal_view(p) for p in proposals],
            "related": related,
            "verified_on": getattr(target, "verified_on", None),
        },
    )


def _commune_of(target_type: str, obj: Any) -> str:
    if target_type == "practitioner":
        names = {r.location.commune.name for r in obj.roles.all() if r.location_id}
        return ", ".join(sorted(names))
    if target_type in ("organization", "location", "scheme"):
        return obj.commune.name if obj.commune_id else ""
    if target_type == "service":
        place = obj.location or obj.organization
        return place.commune.name if place and place.commune_id else ""
    return ""


@login_required
def stale(request: HttpRequest) -> HttpResponse:
    """Entries not verified for N months (12 by default), per type, optionally per territory."""
    _coordinator(request)
    try:
        months = max(0, min(120, int(request.GET.get("mois", 12))))
    except ValueError:
        months = 12
    scope = review.work_scope(request.user, request.GET.get("territoire", ""))
    entries = review.stale_entries(months, user=request.user, scope=scope)
    kind = request.GET.get("type") or "practitioner"
    if kind not in entries:
        kind = "practitioner"
    qs = entries[kind]
    if kind == "practitioner":
        qs = qs.prefetch_related("roles__location__commune")
    else:
        qs = qs.select_related(*{"service": ["location__commune", "organization__commune"]}.get(
            kind, ["commune"]))  # fmt: skip
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    items = [(obj, _commune_of(kind, obj)) for obj in page]
    query = {"mois": months, "territoire": scope.selected}
    return _page(
        request,
        "stale.html",
        {
            "section": "stale",
            "months": months,
            "scope": scope,
            "kind": kind,
            "counts": [(k, TYPE_LABELS[k], qs_.count()) for k, qs_ in entries.items()],
            "page": page,
            "items": items,
            "query": query,
            "limit": review.months_ago(months),
        },
    )


@login_required
@require_POST
def confirm(request: HttpRequest, target_type: str, pk: int) -> HttpResponse:
    """ "Toujours exact": take an entry off the follow-up list after checking it."""
    _coordinator(request)
    if target_type not in review.VERIFIED_TYPES:
        raise Http404("type d'entrée inconnu")
    target = get_object_or_404(review.TARGET_MODELS[target_type], pk=pk)
    review.confirm(request.user, target, request.POST.get("comment", ""))
    messages.success(request, f"« {_describe(target_type, target)} » marquée vérifiée.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/pro/") else reverse("pro:stale"))


# --------------------------------------------------------------------------- merge import


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    _coordinator(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        fmt = form.cleaned_data["format"]
        try:
            staged = merge.stage(
                form.cleaned_data["file"],
                fmt,
                user=request.user,
                source_name=form.cleaned_data["source_name"],
            )
        except ValueError as exc:  # MergeFileError included
            form.add_error("file", str(exc))
        else:
            if fmt == "fhir":
                return redirect("pro:import_review", pk=staged.pk)
            return redirect("pro:import_mapping", pk=staged.pk)
    return _page(
        request,
        "import_upload.html",
        {
            "section": "import",
            "form": form,
            "imports": MergeImport.objects.select_related("created_by")[:10],
        },
    )


def _staged(pk: int) -> MergeImport:
    return get_object_or_404(MergeImport, pk=pk)


@login_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator(request)
    staged = _staged(pk)
    if staged.status != MergeImport.Status.STAGED or staged.source_format == "fhir":
        return redirect("pro:import_review", pk=pk)
    initial = {k: v or "" for k, v in staged.mapping.items()}
    form = MappingForm(staged.headers, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            merge.remap(staged, form.mapping(), request.user)
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("pro:import_review", pk=pk)
    preview = [r["cells"] for r in staged.source_rows[:5]]
    return _page(
        request,
        "import_mapping.html",
        {"section": "import", "staged": staged, "form": form, "preview": preview},
    )


def _row_view(position: int, row: dict, refused: dict[str, str] | None = None) -> dict[str, Any]:
    data = row["data"]
    refused = refused or {}
    if row["kind"] == "practitioner":
        title = " ".join(x for x in (data["given_name"], data["family_name"]) if x)
        detail = PROFESSIONS.get(data["profession_code"], "")
        if data["specialty_code"]:
            detail += " — " + SPECIALTIES.get(data["specialty_code"], data["specialty_code"])
        ident = f"RPPS {data['rpps']}" if data["rpps"] else ""
    else:
        title = data["organization_name"]
        detail = ""
        ident = f"FINESS {data['finess']}" if data["finess"] else ""
    where = " ".join(x for x in (data["address"], data["postal_code"], data["city"]) if x)
    choices = ["ignore"]
    if not row["errors"]:
        if row["match"] is None or row["match"]["model"] != "file":
            choices.insert(0, "create")
        if row["match"] is not None and row["match"]["model"] != "file":
            choices.insert(0, "update")
    choices = [c for c in choices if c not in refused]
    refusal = row.get("refusal") or (
        refused.get(row["decision"]) if row["decision"] in refused else ""
    )
    return {
        "position": position,
        "row": row,
        "kind_label": {"practitioner": "Professionnel", "organization": "Structure"}.get(
            row["kind"], "?"
        ),
        "title": title or "(sans nom)",
        "detail": detail,
        "ident": ident,
        "where": where,
        "contact": " · ".join(x for x in (data["phone"], data["email"]) if x),
        "choices": [(c, merge.DECISIONS[c]) for c in choices],
        "decision_label": merge.DECISIONS.get(row["decision"], "refusée"),
        "refusal": refusal,
    }


@login_required
def import_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Every row as new / duplicate of … (score) / error, with a choice per row; then apply."""
    _coordinator(request)
    staged = _staged(pk)
    error = ""
    if request.method == "POST" and staged.status == MergeImport.Status.STAGED:
        if request.POST.get("action") == "cancel":
            merge.cancel(staged, request.user)
            messages.success(request, "Import annulé : rien n'a été écrit dans l'annuaire.")
            return redirect("pro:import_upload")
        decisions = {
            key.removeprefix("decision-"): value
            for key, value in request.POST.items()
            if key.startswith("decision-")
        }
        try:
            counts = merge.apply(staged, decisions, request.user)
        except ValueError as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                f"Import appliqué : {counts['created']} fiche(s) créée(s), {counts['updated']} "
                f"mise(s) à jour, {counts['ignored']} ligne(s) ignorée(s)"
                + (
                    f", {counts['refused']} refusée(s) hors de vos territoires."
                    if counts.get("refused")
                    else "."
                ),
            )
            return redirect("pro:import_review", pk=pk)
    refused = (
        merge.refusals(staged, request.user) if staged.status == MergeImport.Status.STAGED else {}
    )
    rows = [_row_view(i, r, refused.get(i)) for i, r in enumerate(staged.rows)]
    return _page(
        request,
        "import_review.html",
        {
            "section": "import",
            "staged": staged,
            "rows": rows,
            "summary": merge.summary(staged),
            "blocking": merge.first_error(staged),
            "error": error,
            "threshold": merge.MATCH_THRESHOLD,
            "mapped": [(merge.FIELDS[k].label, v) for k, v in staged.mapping.items() if v],
        },
    )
