"""The registry's pages: search, a person and their corrections, list imports and their
reports, and the held rows and proposals the owning region decides. Views read through
scoped queries (accounts.access) and write through services."""

import json
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kelambu.accounts import access
from kelambu.audit.services import record as audit
from kelambu.jobs.runners import queued
from kelambu.jobs.services import enqueue
from kelambu.lib import issues as catalogue
from kelambu.lib import vocab
from kelambu.lib.export import to_csv_bytes, to_xlsx_bytes
from kelambu.lib.nik import mask_nik
from kelambu.registry import decisions, queries
from kelambu.registry.exports import rejected_rows
from kelambu.registry.models import (
    BatchStatus,
    DecileScale,
    DecisionStatus,
    Hold,
    ImportBatch,
    Person,
    Source,
)
from kelambu.registry.reader import ImportRefused, load_mapping
from kelambu.registry.services import (
    ImportOptions,
    PersonCorrection,
    cancel_import,
    correct_person,
    fail_interrupted,
    run_import,
    start_import,
)
from kelambu.registry.tasks import import_list_task, options_to_json, progress_for, progress_key
from kelambu.web.pages import PAGE_SIZE, attachment
from kelambu.web.pages import lang as _lang

STAGE_LABELS = {
    "queued": gettext_lazy("Waiting in the queue"),
    "reading": gettext_lazy("Reading the file"),
    "validating": gettext_lazy("Checking rows"),
    "staging": gettext_lazy("Staging rows"),
    "promoting": gettext_lazy("Updating the registry"),
    "done": gettext_lazy("Done"),
}


# --- registry --------------------------------------------------------------------------

class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("NIK or name"), required=False, max_length=100)
    region = forms.CharField(label=gettext_lazy("Region code"), required=False, max_length=13)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    decile = forms.IntegerField(label=gettext_lazy("Decile"), required=False, min_value=1, max_value=10)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lang = _lang()
        self.fields["category"].choices = [("", _("All"))] + [
            (code, vocab.category_label(code, lang)) for code in vocab.CATEGORIES
        ]

    def clean_region(self):
        code = self.cleaned_data["region"].strip()
        if code and not code.replace(".", "").isdigit():
            raise forms.ValidationError(_("A region code is digits, e.g. 16.06 or 16.06.01.2001."))
        if code and "." not in code:
            digits = code
            code = ".".join(p for p in (digits[0:2], digits[2:4], digits[4:6], digits[6:10]) if p)
        return code


@login_required
@require_GET
def person_list(request):
    if not access.can_see_people(request.user):
        raise PermissionDenied
    form = SearchForm(request.GET or None)
    # A merged person is found as its survivor (its own page still opens, with a notice).
    people = Person.objects.visible_to(request.user).active().select_related("village")
    if form.is_valid():
        nik = queries.whole_nik(form.cleaned_data["q"])
        if nik:
            try:
                access.record_nik_lookup(request.user, nik, "registry")
            except access.LookupLimited:
                raise PermissionDenied(_("Too many searches by NIK in the last hour; try again later.")) from None
        people = queries.search_people(people, **form.cleaned_data,
                                       nik_prefix=access.nik_prefix_search(request.user))
    page = Paginator(people.order_by("name_norm", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    show_nik = access.can_see_nik(request.user)
    rows = [(p, p.nik if show_nik or not p.nik else mask_nik(p.nik)) for p in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "registry/person_list.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(), "lang": _lang(),
    })


def _visible_person(request, pk) -> Person:
    if not access.can_see_people(request.user):
        raise PermissionDenied
    return get_object_or_404(Person.objects.visible_to(request.user).select_related("village", "household"), pk=pk)


@login_required
def person_detail(request, pk):
    person = _visible_person(request, pk)
    # Every view of a person's record is in the trail (who looked at whom, when).
    audit(request.user, "person.view", person, summary=f"person #{person.pk} viewed")
    show_nik = access.can_see_nik(request.user)
    provenance = queries.provenance(person)
    household = queries.household_members(person, request.user)
    mask = (lambda v: v) if show_nik else (lambda v: mask_nik(v) if v else v)
    return render(request, "registry/person_detail.html", {
        "person": person, "nik": mask(person.nik), "kk": mask(person.kk),
        "provenance": provenance, "household": household, "lang": _lang(),
        "village_path": queries.region_path(person.village_id),
        "can_edit": access.can_change_person(request.user, person), "show_nik": show_nik,
        "history": queries.person_history(person),
        "merged_into": person.merged_into if person.merged_into_id else None,
    })


class PersonForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=255)
    address = forms.CharField(label=gettext_lazy("Address"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    village = forms.CharField(label=gettext_lazy("Village code"), required=False, max_length=13)
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False, max_length=20)
    category = forms.ChoiceField(label=gettext_lazy("Worker category"), required=False)
    occupation = forms.ChoiceField(label=gettext_lazy("Occupation"), required=False)
    reason = forms.CharField(label=gettext_lazy("Reason for the correction"), max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lang = _lang()
        self.fields["category"].choices = [("", "-")] + [(c, vocab.category_label(c, lang)) for c in vocab.CATEGORIES]
        self.fields["occupation"].choices = [("", "-")] + [(c, vocab.occupation_label(c, lang)) for c in vocab.OCCUPATIONS]


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk):
    person = _visible_person(request, pk)
    if not access.can_change_person(request.user, person):
        raise PermissionDenied
    initial = {"name": person.name, "address": person.address, "village": person.village_id, "phone": person.phone,
               "category": person.category, "occupation": person.occupation}
    form = PersonForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        result = correct_person(person, PersonCorrection(**data), form.cleaned_data["reason"], request.user)
        if result.errors:
            for field, codes in result.errors.items():
                for code in codes:
                    issue = catalogue.ISSUES[code]
                    form.add_error(field if field in form.fields else None,
                                   f"{issue.message_id if _lang() == 'id' else issue.message_en} [{code}]")
        else:
            messages.success(request, _("Correction saved."))
            return redirect("person_detail", pk=person.pk)
    return render(request, "registry/person_edit.html", {"person": person, "form": form})


# --- imports ---------------------------------------------------------------------------

class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("List file (CSV or XLSX)"))
    source = forms.ChoiceField(label=gettext_lazy("Source"), choices=Source.choices)
    sheet = forms.CharField(label=gettext_lazy("Sheet (XLSX, optional)"), required=False, max_length=100)
    sponsor = forms.ModelChoiceField(label=gettext_lazy("Sponsor (for sponsor lists)"), required=False, queryset=None)
    decile_scale = forms.ChoiceField(label=gettext_lazy("Decile scale"), required=False,
                                     choices=[("", gettext_lazy("As the source says"))] + DecileScale.choices)
    mapping = forms.FileField(label=gettext_lazy("Column mapping (JSON or CSV, optional)"), required=False)
    dry_run = forms.BooleanField(label=gettext_lazy("Check only (dry run): report without changing the registry"),
                                 required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the sources and sponsors this user may file (accounts.access).
        allowed = access.import_sources(user)
        self.fields["source"].choices = [(v, label) for v, label in Source.choices if v in allowed]
        self.fields["sponsor"].queryset = access.sponsors_for_lists(user)
        if access.sponsor_id_of(user):
            self.fields["sponsor"].initial = user.sponsor_id
            self.fields["sponsor"].disabled = True
        elif Source.SPONSOR not in allowed:
            del self.fields["sponsor"]

    def clean(self):
        data = super().clean()
        if data.get("source") == Source.SPONSOR and "sponsor" in self.fields and not data.get("sponsor"):
            self.add_error("sponsor", _("Choose the sponsor whose list this is."))
        return data


def _save_upload(upload, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name).suffix.lower()[:8]
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    with open(path, "wb") as f:
        for chunk in upload.chunks():
            f.write(chunk)
    return path


def _run_in_background(batch, path, options, user):
    """A job in the queue (a worker runs it), or at once when imports run in the foreground."""
    if settings.KELAMBU_IMPORT_IN_BACKGROUND:
        task_id = enqueue(import_list_task, batch.pk, str(path), options_to_json(options), user.pk)
        # Until a worker takes it, the batch lives as long as its task waits (jobs.runners).
        ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.PENDING).update(runner=queued(task_id))
        return
    try:
        run_import(batch, path, options, user, progress_for(batch.pk))
    finally:
        path.unlink(missing_ok=True)


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request):
    if not access.can_import(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.KELAMBU_IMPORT_MAX_BYTES:
            form.add_error("file", _("The file is too large (at most %(mb)s MB).") % {
                "mb": settings.KELAMBU_IMPORT_MAX_BYTES // 1024**2})
        else:
            folder = Path(settings.MEDIA_ROOT) / "imports"
            mapping = None
            if form.cleaned_data["mapping"]:
                mapping_path = _save_upload(form.cleaned_data["mapping"], folder)
                try:
                    mapping = load_mapping(mapping_path)
                except ImportRefused as refusal:
                    form.add_error("mapping", refusal.message_id if _lang() == "id" else refusal.message_en)
                finally:
                    mapping_path.unlink(missing_ok=True)
            if not form.errors:
                path = _save_upload(upload, folder)
                options = ImportOptions(
                    source=form.cleaned_data["source"], sheet=form.cleaned_data["sheet"] or None, mapping=mapping,
                    dry_run=form.cleaned_data["dry_run"], sponsor=form.cleaned_data.get("sponsor"),
                    decile_scale=form.cleaned_data["decile_scale"] or None, file_name=Path(upload.name).name,
                )
                try:
                    batch, created = start_import(path, options, request.user)
                except (PermissionDenied, ValueError) as exc:
                    path.unlink(missing_ok=True)
                    form.add_error(None, str(exc))
                else:
                    if not created:
                        path.unlink(missing_ok=True)
                        scope = access.batch_scope(request.user)
                        if ImportBatch.objects.filter(scope, pk=batch.pk).exists():
                            messages.info(request, _("This file was already imported as batch #%(id)s; nothing "
                                                     "changed.") % {"id": batch.pk})
                            return redirect("batch_detail", pk=batch.pk)
                        # Someone else's import: say so without showing it.
                        messages.info(request, _("This file was already imported; nothing changed."))
                        return redirect("batch_list")
                    _run_in_background(batch, path, options, request.user)
                    return redirect("batch_detail", pk=batch.pk)
    return render(request, "registry/import_new.html", {"form": form})


def _visible_batch(request, pk) -> ImportBatch:
    scope = access.batch_scope(request.user)
    if scope is None:
        raise PermissionDenied
    return get_object_or_404(ImportBatch.objects.filter(scope).select_related("created_by", "sponsor"), pk=pk)


@login_required
def batch_list(request):
    scope = access.batch_scope(request.user)
    if scope is None:
        raise PermissionDenied
    # A run whose process died is marked failed here, not left "running" for ever.
    fail_interrupted()
    page = Paginator(ImportBatch.objects.filter(scope).select_related("created_by", "sponsor"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    page.object_list = queries.with_figures(page.object_list, request.user)
    return render(request, "registry/batch_list.html", {"page": page, "can_import": access.can_import(request.user)})


@login_required
def batch_detail(request, pk):
    batch = _visible_batch(request, pk)
    if batch.status in (BatchStatus.PENDING, BatchStatus.RUNNING) and fail_interrupted():
        batch.refresh_from_db()
    lang = _lang()
    report = queries.visible_report(batch, request.user)
    issue_rows = [
        {"code": code, "count": count, "severity": catalogue.ISSUES[code].severity,
         "message": catalogue.ISSUES[code].message_id if lang == "id" else catalogue.ISSUES[code].message_en}
        for code, count in sorted(report.get("issues", {}).items(), key=lambda kv: -kv[1])
        if code in catalogue.ISSUES
    ]
    examples = [
        {**e, "message": e["message_id"] if lang == "id" else e["message_en"]}
        for e in report.get("examples", [])[:50]
    ]
    holds = []
    if access.reveals_matches(request.user):
        holds = list(Hold.objects.filter(batch=batch).select_related("record", "decided_by").order_by("record__row")[:200])
    refusal = batch.report.get("refusal")
    if refusal:
        refusal = {"code": refusal["code"], "message": refusal["message_id"] if lang == "id" else refusal["message_en"]}
    return render(request, "registry/batch_detail.html", {
        "batch": batch, "issue_rows": issue_rows, "examples": examples, "refusal": refusal,
        "running": batch.status in (BatchStatus.PENDING, BatchStatus.RUNNING),
        "can_cancel": _can_cancel(request.user, batch),
        "figures": queries.batch_figures(batch, request.user), "holds": holds,
        "interrupted": batch.error_code == "INTERRUPTED", "cancelled": batch.error_code == "CANCELLED",
    })


def _can_cancel(user, batch) -> bool:
    """The importer, or an administrator, may stop an import that has not ended."""
    return batch.status in (BatchStatus.PENDING, BatchStatus.RUNNING) and (
        batch.created_by_id == user.pk or access.role_of(user) == "admin")


@login_required
@require_POST
def batch_cancel(request, pk):
    batch = _visible_batch(request, pk)
    if not _can_cancel(request.user, batch):
        raise PermissionDenied
    outcome = cancel_import(batch, request.user)
    if outcome == "cancelled":
        messages.success(request, _("The import was cancelled; nothing changed."))
    elif outcome == "asked":
        messages.info(request, _("Cancellation asked: the import stops at its next step and keeps nothing."))
    return redirect("batch_detail", pk=batch.pk)


@login_required
def batch_status(request, pk):
    batch = _visible_batch(request, pk)
    # Before a worker takes it, a queued import has no progress of its own yet.
    state = cache.get(progress_key(batch.pk)) or {
        "stage": "queued" if batch.status == BatchStatus.PENDING else "reading", "done": 0, "total": 0}
    percent = int(100 * state["done"] / state["total"]) if state.get("total") else 0
    return JsonResponse({
        "status": batch.status, "stage": state["stage"], "stage_label": str(STAGE_LABELS.get(state["stage"], "")),
        "done": state["done"], "total": state["total"], "percent": percent,
    })


@login_required
def batch_report(request, pk):
    batch = _visible_batch(request, pk)
    audit(request.user, "download.import_report", batch, summary=f"report of batch #{batch.pk} downloaded")
    return attachment(json.dumps(queries.visible_report(batch, request.user), indent=2, ensure_ascii=False,
                                 default=str), "application/json; charset=utf-8", f"laporan-impor-{batch.pk}.json")


@login_required
def batch_rejected(request, pk, fmt):
    batch = _visible_batch(request, pk)
    if batch.status != BatchStatus.DONE:
        raise Http404
    if fmt not in ("csv", "xlsx"):  # the URL admits only these; a second guard costs nothing
        raise Http404
    frame = rejected_rows(batch)
    audit(request.user, "download.rejected_rows", batch,
          summary=f"rejected rows of batch #{batch.pk} downloaded ({fmt}, {frame.height} rows)")
    if fmt == "xlsx":
        body, ctype = to_xlsx_bytes(frame, "Ditolak"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, ctype = to_csv_bytes(frame), "text/csv; charset=utf-8"
    return attachment(body, ctype, f"ditolak-impor-{batch.pk}.{fmt}")


# --- held rows and proposed corrections (the owning region decides) ----------------------

def _require_decider(user) -> None:
    if not access.can_decide(user):
        raise PermissionDenied


@login_required
@require_GET
def decisions_page(request):
    """What waits for this region's decision: rows held from other importers' lists and
    corrections proposed by companies, for people living (or to live) in the region."""
    _require_decider(request.user)
    status = request.GET.get("status", DecisionStatus.PENDING)
    if status not in DecisionStatus.values:
        status = DecisionStatus.PENDING
    holds = decisions.holds_for(request.user).filter(status=status).select_related(
        "record", "batch", "batch__created_by", "batch__sponsor", "person", "decided_by").order_by("batch_id", "record__row")
    page = Paginator(holds, PAGE_SIZE).get_page(request.GET.get("page"))
    lang = _lang()
    rows = []
    for hold in page.object_list:
        code = {"other_region": "HELD_OTHER_REGION", "unverified": "HELD_UNVERIFIED",
                "new_limit": "HELD_NEW_LIMIT"}[hold.reason]
        issue = catalogue.ISSUES[code]
        rows.append({"hold": hold, "code": code, "message": issue.message_id if lang == "id" else issue.message_en,
                     "path": queries.region_path(hold.record.village_id)})
    batches = (decisions.holds_for(request.user).filter(status=DecisionStatus.PENDING).values(
        "batch_id", "batch__file_name").annotate(n=Count("id"))
        .order_by("batch_id"))
    proposals = decisions.proposals_for(request.user).filter(status=status).select_related(
        "person", "proposed_by", "proposed_by__sponsor", "decided_by")[:200]
    return render(request, "registry/decisions.html", {
        "page": page, "rows": rows, "batches": batches, "proposals": proposals, "status": status,
        "statuses": DecisionStatus.choices, "pending": decisions.pending_counts(request.user),
        "query": f"status={status}",
    })


@login_required
@require_POST
def hold_decide(request, pk):
    _require_decider(request.user)
    hold = get_object_or_404(decisions.holds_for(request.user), pk=pk)
    confirm = request.POST.get("decision") == "confirm"
    try:
        decisions.decide_hold(hold, request.user, confirm=confirm, note=request.POST.get("note", "")[:300])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Row confirmed: it now takes effect.") if confirm
                         else _("Row declined: nothing changed."))
    return redirect("decisions")


@login_required
@require_POST
def batch_holds_decide(request, pk):
    """Every pending held row of one list at once."""
    _require_decider(request.user)
    holds = decisions.holds_for(request.user).filter(batch_id=pk, status=DecisionStatus.PENDING)
    if not holds.exists():
        raise Http404
    confirm = request.POST.get("decision") == "confirm"
    outcome = decisions.decide_holds(holds, request.user, confirm=confirm, note=request.POST.get("note", "")[:300])
    messages.success(request, _("%(n)s rows decided.") % {"n": outcome.decided})
    for error in outcome.errors[:20]:
        messages.error(request, error)
    return redirect("decisions")


@login_required
@require_POST
def proposal_decide(request, pk):
    _require_decider(request.user)
    proposal = get_object_or_404(decisions.proposals_for(request.user), pk=pk)
    accept = request.POST.get("decision") == "accept"
    try:
        result = decisions.decide_proposal(proposal, request.user, accept=accept,
                                           note=request.POST.get("note", "")[:300])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if result is not None and result.errors:
            lang = _lang()
            for codes in result.errors.values():
                for code in codes:
                    issue = catalogue.ISSUES[code]
                    messages.error(request, f"{issue.message_id if lang == 'id' else issue.message_en} [{code}]")
        else:
            messages.success(request, _("Correction applied.") if accept else _("Proposal declined."))
    return redirect("decisions")
