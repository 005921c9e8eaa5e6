"""Deduplication pages: runs, the review queue, a pair with its evidence, merges.

Reads go through the scoped queries of dedup.services; every write goes through its
services (run_dedup, decide, unmerge), which check access again.
"""

import uuid
from datetime import timedelta

import polars as pl
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kelambu.accounts import access
from kelambu.dedup import services, tasks
from kelambu.dedup.models import (
    OPEN_STATUSES,
    MatchRun,
    Merge,
    MergeKind,
    Pair,
    PairKind,
    PairStatus,
    RunStatus,
)
from kelambu.jobs.services import enqueue, task_failure
from kelambu.lib.nik import mask_nik
from kelambu.regions.models import Region
from kelambu.registry.models import ImportBatch, Person
from kelambu.web.pages import PAGE_SIZE, attachment
from kelambu.web.pages import error_text as _error_text
from kelambu.web.pages import safe_next as _safe_next

PROVINCE = "16"

STEP_LABELS = {
    "start": gettext_lazy("Starting"),
    "read": gettext_lazy("Reading the people"),
    "score": gettext_lazy("Scoring candidate pairs"),
    "write": gettext_lazy("Merging and writing the review queue"),
    "done": gettext_lazy("Done"),
}
# The engine's comparisons and level labels (English, in engine.py), for the evidence table.
COMPARISON_LABELS = {
    "nik": gettext_lazy("NIK"),
    "name": gettext_lazy("Name"),
    "birth_date": gettext_lazy("Birth date"),
    "sex": gettext_lazy("Sex"),
    "household": gettext_lazy("Household and place"),
    "phone": gettext_lazy("Phone"),
}
LEVEL_LABELS = {
    "same": gettext_lazy("same"),
    "different": gettext_lazy("different"),
    "missing": gettext_lazy("missing on one side"),
    "one digit or a swap apart": gettext_lazy("one digit or a swap apart"),
    "issued in the same district, living elsewhere": gettext_lazy("issued in the same district, living elsewhere"),
    "same words, other order": gettext_lazy("same words, other order"),
    "very similar": gettext_lazy("very similar"),
    "one name inside the other": gettext_lazy("one name inside the other"),
    "same initials and first word": gettext_lazy("same initials and first word"),
    "an uncommon word in common": gettext_lazy("an uncommon word in common"),
    "similar": gettext_lazy("similar"),
    "day and month swapped": gettext_lazy("day and month swapped"),
    "same month and year, or same day and month": gettext_lazy("same month and year, or same day and month"),
    "same KK": gettext_lazy("same KK"),
    "same village": gettext_lazy("same village"),
    "same district": gettext_lazy("same district"),
    "same regency": gettext_lazy("same regency"),
    "elsewhere": gettext_lazy("elsewhere"),
    "the family's phone": gettext_lazy("the family's phone"),
}
DECISIONS = {"accept", "reject", "defer", "reopen"}


def _require_review(user) -> None:
    if not access.can_review(user):
        raise PermissionDenied


# --- runs ------------------------------------------------------------------------------

def _region_choices(user) -> list[tuple[str, str]]:
    own = access.region_prefix(user)
    if own is None:
        regencies = Region.objects.filter(code__startswith=PROVINCE + ".", level=2).order_by("code")
        return [("", _("All people (every region)"))] + [(r.code, f"{r.code} {r.name}") for r in regencies]
    region = Region.objects.filter(code=own).first()
    return [(own, f"{own} {region.name}" if region else own)]


class RunForm(forms.Form):
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    auto_merge = forms.BooleanField(
        label=gettext_lazy("Merge the certain pairs automatically (same KK or a NIK typo, high probability)"),
        required=False, initial=True)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _region_choices(user)


def _start_run(request, region: str, auto_merge: bool):
    """Runs deduplication (a job in the queue unless imports run in the foreground) and
    returns where to go next."""
    from kelambu.dedup.engine import MatchSettings

    user = request.user
    background = getattr(settings, "KELAMBU_DEDUP_IN_BACKGROUND", settings.KELAMBU_IMPORT_IN_BACKGROUND)
    if background:
        token = uuid.uuid4().hex
        tasks.update(token, user=user.pk, step="start", done=0, total=5, run=None, error="")
        tasks.update(token, task=enqueue(tasks.run_dedup_task, token, user.pk, region, auto_merge))
        return redirect("dedup_progress", token=token)
    match_settings = MatchSettings() if auto_merge else MatchSettings(auto_merge=False)
    try:
        run = services.run_dedup(user, region, match_settings)
    except (PermissionDenied, ValidationError):
        raise
    except Exception as exc:
        messages.error(request, _("The run failed: %(error)s") % {"error": _error_text(exc)})
        return redirect("dedup_runs")
    return redirect("dedup_run", pk=run.pk)


@login_required
@require_http_methods(["GET", "POST"])
def run_list(request):
    _require_review(request.user)
    can_run = access.can_dedup(request.user)
    form = RunForm(request.POST or None, user=request.user) if can_run else None
    if request.method == "POST":
        if not can_run:
            messages.error(request, _("You may not run deduplication."))
            return redirect("dedup_runs")
        if form.is_valid():
            region = form.cleaned_data["region"] or ""
            try:
                region = access.dedup_run_region(request.user, region)
                services.fail_interrupted()  # a run whose process died does not block a new one
                busy = MatchRun.objects.filter(status=RunStatus.RUNNING,
                                               created_at__gte=timezone.now() - timedelta(hours=2))
                if busy.exists():
                    raise ValidationError(_("Another deduplication run is still going; wait for it to finish."))
                return _start_run(request, region, form.cleaned_data["auto_merge"])
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, _error_text(exc))
                return redirect("dedup_runs")
    runs = access.dedup_runs_visible_to(request.user).select_related("started_by")
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    pending = access.pairs_visible_to(request.user).filter(status=PairStatus.PENDING).count()
    return render(request, "dedup/runs.html", {
        "page": page, "form": form, "can_run": can_run, "pending": pending,
    })


@login_required
def run_detail(request, pk):
    _require_review(request.user)
    run = get_object_or_404(access.dedup_runs_visible_to(request.user).select_related("started_by"), pk=pk)
    seconds = sorted((run.report.get("seconds") or {}).items(), key=lambda kv: kv[0] != "total")
    return render(request, "dedup/run_detail.html", {
        "run": run, "report": run.report, "seconds": seconds,
        "running": run.status == RunStatus.RUNNING,
    })


def _own_progress(request, token: str) -> dict:
    _require_review(request.user)
    state = cache.get(tasks.progress_key(token))
    if not state or state.get("user") != request.user.pk:
        raise Http404
    failure = task_failure(state.get("task")) if state.get("step") != "done" else None
    if failure:  # the worker died or the job failed before it could say so
        state.update(step="done", error=failure)
    return state


@login_required
def run_progress(request, token):
    state = _own_progress(request, token)
    if state.get("run") and state.get("step") == "done" and not state.get("error"):
        return redirect("dedup_run", pk=state["run"])
    return render(request, "dedup/progress.html", {
        "token": token, "state": state, "label": STEP_LABELS.get(state.get("step"), ""),
    })


@login_required
def run_status(request, token):
    state = _own_progress(request, token)
    finished = state.get("step") == "done" and (state.get("run") or state.get("error"))
    percent = int(100 * state.get("done", 0) / state["total"]) if state.get("total") else 0
    return JsonResponse({
        "finished": bool(finished), "step": state.get("step"), "label": str(STEP_LABELS.get(state.get("step"), "")),
        "done": state.get("done", 0), "total": state.get("total", 0), "percent": percent,
        "error": state.get("error", ""),
        "url": reverse("dedup_run", args=[state["run"]]) if state.get("run") else reverse("dedup_runs"),
    })


# --- review queue ----------------------------------------------------------------------

class QueueForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("all", gettext_lazy("All"))] + PairStatus.choices)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False,
                             choices=[("", gettext_lazy("All"))] + PairKind.choices)
    min_probability = forms.IntegerField(label=gettext_lazy("Probability at least (%)"), required=False,
                                         min_value=0, max_value=100)


@login_required
def queue(request):
    _require_review(request.user)
    form = QueueForm(request.GET or None)
    status, kind, minimum = PairStatus.PENDING, "", None
    if form.is_valid():
        status = form.cleaned_data["status"] or PairStatus.PENDING
        kind = form.cleaned_data["kind"]
        minimum = form.cleaned_data["min_probability"]
    pairs = access.pairs_visible_to(request.user).select_related("person_a", "person_b", "record_a", "record_b")
    if status != "all":
        pairs = pairs.filter(status=status)
    if kind:
        pairs = pairs.filter(kind=kind)
    if minimum:
        # NIK conflicts carry no probability: a threshold does not hide them.
        pairs = pairs.filter(Q(match_probability__gte=minimum / 100) | Q(match_probability__isnull=True))
    pairs = pairs.order_by(F("match_probability").desc(nulls_last=True), "id")
    page = Paginator(pairs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for pair in page.object_list:
        if pair.kind == PairKind.NIK_CONFLICT:
            names = (pair.record_a.name if pair.record_a else pair.person_a.name,
                     pair.record_b.name if pair.record_b else pair.person_b.name)
        else:
            names = (pair.person_a.name, pair.person_b.name)
        rows.append({"pair": pair, "name_a": names[0], "name_b": names[1],
                     "percent": None if pair.match_probability is None else pair.match_probability * 100})
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "dedup/queue.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
    })


# --- one pair --------------------------------------------------------------------------

def _side(obj, show_nik: bool) -> dict:
    """The fields compared on the pair page, for a Person or a SourceRecord."""
    mask = (lambda v: v) if show_nik else (lambda v: mask_nik(v) if v else v)
    village = getattr(obj, "village", None)
    return {
        "nik": obj.nik, "nik_shown": mask(obj.nik), "kk": obj.kk, "kk_shown": mask(obj.kk),
        "name": obj.name, "name_norm": obj.name_norm, "sex": obj.sex, "birth_date": obj.birth_date,
        "village": obj.village_id, "village_name": village.name if village else "",
        "address": obj.address, "phone": obj.phone,
    }


def _compare(a: dict, b: dict) -> list[dict]:
    def norm(v):
        return " ".join(str(v).lower().split()) if v not in (None, "") else None

    fields = [
        ("NIK", "nik", "nik_shown", True), ("KK", "kk", "kk_shown", True),
        (_("Name"), "name_norm", "name", False), (_("Sex"), "sex", "sex", False),
        (_("Birth date"), "birth_date", "birth_date", False), (_("Village"), "village", "village_name", False),
        (_("Address"), "address", "address", False), (_("Phone"), "phone", "phone", False),
    ]
    rows = []
    for label, key, shown, mono in fields:
        left, right = norm(a[key]), norm(b[key])
        state = "missing" if left is None or right is None else ("agree" if left == right else "differ")
        rows.append({"label": label, "a": a[shown], "b": b[shown], "state": state, "mono": mono,
                     "is_date": key == "birth_date", "code_a": a["village"] if key == "village" else "",
                     "code_b": b["village"] if key == "village" else ""})
    return rows


def _evidence(pair: Pair) -> list[dict]:
    items = [e for e in (pair.evidence or []) if isinstance(e, dict)]
    scale = max([abs(e.get("weight") or 0) for e in items] + [1.0])
    out = []
    for e in items:
        weight = float(e.get("weight") or 0)
        out.append({
            "comparison": COMPARISON_LABELS.get(e.get("comparison"), e.get("comparison")),
            "level": LEVEL_LABELS.get(e.get("level"), e.get("level")),
            "weight": weight, "width": round(min(abs(weight) / scale, 1) * 50, 1),
            "sign": "pos" if weight > 0 else ("neg" if weight < 0 else "zero"),
        })
    return out


def _records_of(person) -> list:
    return list(person.records.select_related("batch", "village").order_by("batch_id", "row"))


@login_required
@require_http_methods(["GET", "POST"])
def pair_detail(request, pk):
    _require_review(request.user)
    visible = access.pairs_visible_to(request.user).select_related(
        "person_a__village", "person_b__village", "record_a__village", "record_b__village",
        "record_a__batch", "record_b__batch", "decided_by", "run")
    pair = visible.filter(pk=pk).first()
    if pair is None:
        if request.method == "POST":
            messages.error(request, _("Pair %(id)s does not exist or is not in your area.") % {"id": pk})
            return redirect("dedup_queue")
        raise Http404
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        if decision not in DECISIONS:
            messages.error(request, _("Unknown decision; choose one of the buttons."))
        else:
            try:
                services.decide(pair, decision, request.user, request.POST.get("note", ""))
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, _error_text(exc))
            else:
                done = {"accept": _("Marked as the same person; the two are merged."),
                        "reject": _("Marked as different people."),
                        "defer": _("Deferred."), "reopen": _("Reopened: the pair waits for review again.")}
                messages.success(request, done[decision])
        return redirect("dedup_pair", pk=pair.pk)

    show_nik = access.can_see_nik(request.user)
    conflict = pair.kind == PairKind.NIK_CONFLICT
    if conflict and pair.record_a and pair.record_b:
        left, right = pair.record_a, pair.record_b
        records = ([pair.record_a], [pair.record_b])
    else:
        left, right = pair.person_a, pair.person_b
        records = (_records_of(pair.person_a), _records_of(pair.person_b))
    merges = list(Merge.objects.filter(pair=pair).select_related("survivor", "absorbed", "by", "undone_by")
                  .order_by("-id"))
    is_open = pair.status in OPEN_STATUSES
    next_pair = (access.pairs_visible_to(request.user).filter(status=PairStatus.PENDING).exclude(pk=pair.pk)
                 .order_by(F("match_probability").desc(nulls_last=True), "id").values_list("pk", flat=True).first())
    return render(request, "dedup/pair.html", {
        "pair": pair, "conflict": conflict, "left": left, "right": right,
        "fields": _compare(_side(left, show_nik), _side(right, show_nik)),
        "records": records, "evidence": _evidence(pair), "merges": merges,
        "percent": None if pair.match_probability is None else pair.match_probability * 100,
        "can_accept": is_open, "can_reject": is_open, "can_defer": pair.status == PairStatus.PENDING,
        "can_reopen": pair.status in (PairStatus.REJECTED, PairStatus.DEFERRED),
        "next_pair": next_pair,
    })


# --- merges ----------------------------------------------------------------------------

@login_required
def merge_list(request):
    _require_review(request.user)
    merges = access.merges_visible_to(request.user).select_related(
        "survivor", "absorbed", "by", "undone_by", "pair").order_by("-id")
    show = request.GET.get("show", "")
    if show == "active":
        merges = merges.filter(undone_at__isnull=True)
    elif show == "undone":
        merges = merges.filter(undone_at__isnull=False)
    page = Paginator(merges, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "dedup/merges.html", {
        "page": page, "show": show, "query": query.urlencode(), "split": MergeKind.SPLIT,
    })


@login_required
@require_POST
def merge_undo(request, pk):
    _require_review(request.user)
    fallback = reverse("dedup_merges")
    merge = access.merges_visible_to(request.user).filter(pk=pk).first()
    if merge is None:
        messages.error(request, _("Merge %(id)s does not exist or is not in your area.") % {"id": pk})
        return redirect(fallback)
    try:
        services.unmerge(merge, request.user, request.POST.get("note", ""))
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Merge undone: the two people are separate again and the pair waits for review."))
    return redirect(_safe_next(request, fallback))


def _funding_region(user) -> str:
    """The region whose double funding a reviewer sees ("" for an admin: everyone)."""
    return access.region_prefix(user) or ""


@login_required
def double_funding(request):
    """People paid for twice for the same months, confirmed or suspected, in the user's
    area; as a page or (?format=csv) a download."""
    from kelambu.dedup.funding import double_funding as find
    from kelambu.lib.export import to_csv_bytes

    _require_review(request.user)
    cases = find(_funding_region(request.user))
    visible = set(Person.objects.visible_to(request.user).filter(
        pk__in=set(cases["person_id"].to_list()) | set(cases["other_person_id"].to_list())
    ).values_list("pk", flat=True)) if cases.height else set()
    cases = cases.filter(pl.col("person_id").is_in(list(visible)) & pl.col("other_person_id").is_in(list(visible)))
    confirmed = cases.filter(pl.col("status") == "confirmed").height
    suspected = cases.height - confirmed
    status = request.GET.get("status", "")
    if status in ("confirmed", "suspected"):
        cases = cases.filter(pl.col("status") == status)
    if request.GET.get("format") == "csv":
        from kelambu.audit.services import record as audit

        audit(request.user, "download.double_funding", summary=f"double-funding cases downloaded ({cases.height})",
              object_type="report", object_id="double_funding")
        return attachment(to_csv_bytes(cases.with_columns(pl.all().cast(pl.Utf8))), "text/csv; charset=utf-8",
                          "pendanaan-ganda.csv")
    names = dict(Person.objects.filter(pk__in=visible).values_list("pk", "name"))
    batches = {b.pk: b for b in ImportBatch.objects.select_related("sponsor").filter(
        pk__in=set(cases["batch_id"].to_list()) | set(cases["other_batch_id"].to_list()))}

    def funder(batch) -> str:
        # A sponsor by its name; a village roster and other lists by their kind.
        return ((batch.sponsor.name if batch.sponsor_id else "") or batch.get_source_display()) if batch else ""

    rows = [{**row, "name": names.get(row["person_id"], ""), "other_name": names.get(row["other_person_id"], ""),
             "batch": batches.get(row["batch_id"]), "other_batch": batches.get(row["other_batch_id"]),
             # A program membership has no list: its sponsor's name stands.
             "funder": funder(batches.get(row["batch_id"])) or row["funder"],
             "other_funder": funder(batches.get(row["other_batch_id"])) or row["other_funder"],
             "percent": None if row["match_probability"] is None else round(100 * row["match_probability"], 1)}
            for row in cases.head(500).iter_rows(named=True)]
    return render(request, "dedup/funding.html", {
        "rows": rows, "total": cases.height, "status": status, "confirmed": confirmed, "suspected": suspected,
    })
