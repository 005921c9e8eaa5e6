"""Program pages: the list with a new-program form, a program with its allocation report
and exchange files for the BPJS branch, its memberships, and the outcomes of a run.

Who: admins and regency operators (their regency's programs) manage; BPJS officers read
the programs of their region; CSR officers read the programs their company funds. Every
write goes through programs.services / programs.enrollment, which check access again.
"""

import re
import uuid
from datetime import date, timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kelambu.accounts import access
from kelambu.accounts.models import Role
from kelambu.audit.services import record as audit
from kelambu.jobs.services import enqueue, task_failure
from kelambu.lib import vocab
from kelambu.lib.contributions import RuleError, minimum_basis
from kelambu.lib.export import to_csv_bytes, to_xlsx_bytes
from kelambu.lib.nik import mask_nik
from kelambu.programs import enrollment, services, tasks
from kelambu.programs.models import (
    LIVE_STATUSES,
    AllocationRun,
    EndReason,
    EnvelopeStatus,
    Membership,
    MembershipStatus,
    Outcome,
    Program,
    ProgramSponsor,
    ProgramStatus,
    Sponsor,
    SponsorKind,
)
from kelambu.regions.models import Region
from kelambu.registry.models import DecileScale
from kelambu.rules.services import lowest_income_basis, rulebook
from kelambu.web.pages import PAGE_SIZE, attachment
from kelambu.web.pages import error_text as _error_text
from kelambu.web.pages import lang as _lang
from kelambu.web.pages import number as _n

PROVINCE = "16"
DECILE_LIMITS = {"p3ke": 4, "dtsen": 10}
RESULTS = {
    "funded": gettext_lazy("Funded"),
    "unfunded": gettext_lazy("Not funded"),
    "ineligible": gettext_lazy("Not eligible"),
}
RUN_STATUS = {"done": gettext_lazy("Done"), "running": gettext_lazy("Running"), "failed": gettext_lazy("Failed")}
# Short labels of the reason codes (eligibility.py and lib/allocation.py), for the report
# tables and the filter.
REASON_LABELS = {
    "no_nik": gettext_lazy("no NIK"),
    "decile_scale": gettext_lazy("decile on another scale"),
    "no_decile": gettext_lazy("no decile"),
    "decile_out_of_range": gettext_lazy("decile outside the program's range"),
    "no_birth_date": gettext_lazy("no birth date"),
    "age_below": gettext_lazy("too young"),
    "age_above": gettext_lazy("too old"),
    "category": gettext_lazy("worker category not covered"),
    "occupation": gettext_lazy("occupation not covered"),
    "already_funded": gettext_lazy("already funded by another program"),
    "rejected_by_bpjs": gettext_lazy("rejected by BPJS"),
    "left_program": gettext_lazy("left the program"),
    "no_sponsor_in_scope": gettext_lazy("no sponsor covers them"),
    "age_out_of_range": gettext_lazy("outside the sponsors' age limits"),
    "capacity_exhausted": gettext_lazy("budget exhausted"),
    "quota_full": gettext_lazy("quota full"),
}
QUOTA_FIELDS = {
    "decile": gettext_lazy("decile"),
    "category": gettext_lazy("category"),
    "occupation": gettext_lazy("occupation"),
    "region": gettext_lazy("region"),
}
# The words a quota line may start with (Indonesian or English).
QUOTA_WORDS = {"desil": "decile", "decile": "decile", "kategori": "category", "category": "category",
               "pekerjaan": "occupation", "occupation": "occupation", "wilayah": "region", "region": "region"}
QUOTA_LINE = re.compile(r"^\s*(\w+)\s+(\S+)\s*=\s*([\d.,_ ]+)\s*$")


# --- who sees what ---------------------------------------------------------------------

# Who sees and manages what is decided in accounts.access; the views only ask it.


def _visible_program(request, pk) -> Program:
    if not access.can_see_programs(request.user):
        raise PermissionDenied
    return get_object_or_404(access.programs_visible_to(request.user).select_related("region"), pk=pk)


def _search_people(request, rows, q: str, where: str):
    """Memberships or outcomes whose person matches `q`: a whole NIK (audited, and limited
    per hour for roles that see NIKs masked) or words of the name; part of a NIK finds
    nothing, so a masked NIK cannot be rebuilt digit by digit."""
    from kelambu.registry.queries import whole_nik

    nik = whole_nik(q)
    if nik:
        try:
            access.record_nik_lookup(request.user, nik, where)
        except access.LookupLimited:
            raise PermissionDenied(_("Too many searches by NIK in the last hour; try again later.")) from None
        return rows.filter(person__nik=nik)
    if q.replace(" ", "").isdigit():
        return rows.none()
    from kelambu.lib.names import normalize_name

    for word in normalize_name(q).split():
        rows = rows.filter(person__name_norm__contains=word)
    return rows


def _managed_program(request, pk) -> Program:
    program = _visible_program(request, pk)
    if not access.can_manage_program(request.user, program):
        raise PermissionDenied
    return program


# --- words for reason codes ------------------------------------------------------------

def _quota_text(field, value, limit) -> str:
    label = QUOTA_FIELDS.get(field, field)
    if field == "category":
        value = vocab.category_label(value, _lang()) or value
    elif field == "occupation":
        value = vocab.occupation_label(value, _lang()) or value
    return _("%(field)s %(value)s, limit %(limit)s") % {"field": label, "value": value, "limit": _n(limit)}


def explain(result: str, reason: str, params: dict | None, sponsors: dict | None = None) -> str:
    """One outcome in words, in the current language: the code and its parameters."""
    p = params if isinstance(params, dict) else {}
    sponsors = sponsors or {}
    lang = _lang()
    if result == "funded":
        return _("Funded by %(sponsor)s") % {"sponsor": sponsors.get(str(p.get("sponsor", "")), "") or _("a sponsor")}
    if reason == "no_nik":
        return _("Not eligible: no NIK")
    if reason == "decile_scale":
        return _("Not eligible: decile on the %(scale)s scale, not the program's") % {"scale": p.get("scale", "?")}
    if reason == "no_decile":
        return _("Not eligible: no decile")
    if reason == "decile_out_of_range":
        return _("Not eligible: decile %(decile)s outside %(min)s-%(max)s") % {
            "decile": p.get("decile", "?"), "min": p.get("min", "?"), "max": p.get("max", "?")}
    if reason == "no_birth_date":
        return _("Not eligible: no birth date")
    if reason == "age_below":
        return _("Not eligible: age %(age)s below the minimum %(min)s") % {"age": p.get("age", "?"),
                                                                            "min": p.get("min", "?")}
    if reason == "age_above":
        return _("Not eligible: age %(age)s above the limit %(max)s") % {"age": p.get("age", "?"),
                                                                          "max": p.get("max", "?")}
    if reason in ("category", "occupation"):
        category = vocab.category_label(p.get("category"), lang) or _("none")
        occupation = vocab.occupation_label(p.get("occupation"), lang) or _("none")
        if reason == "category" and "occupation" in p:
            return _("Not eligible: neither the category (%(category)s) nor the occupation (%(occupation)s) "
                     "is covered") % {"category": category, "occupation": occupation}
        if reason == "category":
            return _("Not eligible: category %(category)s not covered") % {"category": category}
        return _("Not eligible: occupation %(occupation)s not covered") % {"occupation": occupation}
    if reason == "already_funded":
        return _("Already funded by program %(program)s (%(months)s months)") % {
            "program": p.get("program", "?"), "months": p.get("months", "?")}
    if reason == "rejected_by_bpjs":
        return _("Rejected by BPJS: %(reason)s") % {"reason": p.get("reason") or _("no reason given")}
    if reason == "left_program":
        why = p.get("reason") or ""
        label = EndReason(why).label if why in EndReason.values else why
        return _("Left the program: %(reason)s") % {"reason": label or _("no reason given")}
    if reason == "no_sponsor_in_scope":
        category = vocab.category_label(p.get("category"), lang) or _("none")
        return _("Not funded: no sponsor covers village %(village)s and category %(category)s") % {
            "village": p.get("village") or "?", "category": category}
    if reason == "age_out_of_range":
        return _("Not funded: age %(age)s outside every sponsor's age limits") % {"age": p.get("age", "?")}
    if reason == "capacity_exhausted":
        if p.get("decile") is None:
            return _("Not funded: budget exhausted (decile unknown)")
        return _("Not funded: budget exhausted in decile %(decile)s") % {"decile": p["decile"]}
    if reason == "quota_full":
        if "quotas" in p:
            quotas = "; ".join(_quota_text(q.get("field"), q.get("value"), q.get("limit", 0)) for q in p["quotas"])
        else:
            quotas = _quota_text(p.get("field"), p.get("value"), p.get("limit", 0))
        return _("Not funded: quota full (%(quota)s)") % {"quota": quotas}
    label = RESULTS.get(result, result)
    return f"{label}: {reason}" if reason else str(label)


def _month_ranges(costs: dict) -> list[dict]:
    """{"2026-01": c, "2026-02": c, ...} -> runs of consecutive months with one cost."""
    out: list[dict] = []
    for month, cost in sorted(costs.items()):
        if out and out[-1]["cost"] == cost:
            out[-1]["last"] = month
        else:
            out.append({"first": month, "last": month, "cost": cost})
    return out


def _reason_rows(counts: dict) -> list[dict]:
    return [{"code": code, "label": REASON_LABELS.get(code, code), "count": n}
            for code, n in sorted((counts or {}).items(), key=lambda kv: -kv[1])]


# --- the list and the new-program form ------------------------------------------------

def _labelled(run: AllocationRun) -> AllocationRun:
    run.status_label = RUN_STATUS.get(run.status, run.status)
    return run


def _latest_run(program: Program) -> AllocationRun | None:
    return program.allocations.filter(status="done", what_if=False).order_by("-id").first()


def _regency_choices(user) -> list[tuple[str, str]]:
    if access.role_of(user) == Role.ADMIN:
        regions = Region.objects.filter(code__startswith=PROVINCE + ".", level=2).order_by("code")
    else:
        regions = Region.objects.filter(code=user.region_id)
    return [(r.code, f"{r.code} {r.name}") for r in regions]


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m")


class MonthField(forms.DateField):
    widget = MonthInput
    input_formats = ["%Y-%m", "%m-%Y", "%Y-%m-%d"]

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace(day=1) if value else value


def parse_quotas(text: str) -> tuple[list[dict], list[str]]:
    """Lines like "desil 1 = 12451" -> quota dicts, with an error per wrong line."""
    quotas, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = QUOTA_LINE.match(line)
        field = QUOTA_WORDS.get(match.group(1).lower()) if match else None
        limit = re.sub(r"[.,_ ]", "", match.group(3)) if match else ""
        if not match or not field or not limit.isdigit():
            errors.append(_('Line %(n)s: "%(line)s" is not a quota; write e.g. "desil 1 = 12451", '
                            '"kategori informal = 500", "pekerjaan petani_sawit = 2000" or '
                            '"wilayah 16.06.01 = 300".') % {"n": number, "line": line.strip()[:60]})
            continue
        value = match.group(2)
        problem = None
        if field == "decile" and not (value.isdigit() and 1 <= int(value) <= 10):
            problem = _("a decile is a number from 1 to 10")
        elif field == "category" and value not in vocab.CATEGORIES:
            problem = _("unknown category; one of %(codes)s") % {"codes": ", ".join(vocab.CATEGORIES)}
        elif field == "occupation" and value not in vocab.OCCUPATIONS:
            problem = _("unknown occupation; one of %(codes)s") % {"codes": ", ".join(vocab.OCCUPATIONS)}
        elif field == "region" and not re.fullmatch(r"\d{2}(\.\d{2}){0,2}(\.\d{4})?", value):
            problem = _("a region is a dotted code, e.g. 16.06.01")
        if problem:
            errors.append(_("Line %(n)s: %(problem)s.") % {"n": number, "problem": problem})
            continue
        quotas.append({"field": field, "value": value, "limit": int(limit)})
    return quotas, errors


class ProgramForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    region = forms.ChoiceField(label=gettext_lazy("Regency"))
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=ProgramStatus.choices,
                               initial=ProgramStatus.ACTIVE)
    start_month = MonthField(label=gettext_lazy("First month"))
    end_month = MonthField(label=gettext_lazy("Last month"))
    jht = forms.BooleanField(label=gettext_lazy("With JHT (old-age savings)"), required=False)
    income_basis = forms.IntegerField(label=gettext_lazy("Income basis (Rp)"), initial=lowest_income_basis,
                                      min_value=0)
    decile_scale = forms.ChoiceField(label=gettext_lazy("Decile scale"), required=False,
                                     choices=[("", gettext_lazy("No decile rule"))] + DecileScale.choices)
    decile_min = forms.IntegerField(label=gettext_lazy("Lowest decile"), required=False, min_value=1, max_value=10)
    decile_max = forms.IntegerField(label=gettext_lazy("Highest decile"), required=False, min_value=1, max_value=10)
    age_min = forms.IntegerField(label=gettext_lazy("Minimum age"), required=False, min_value=0, max_value=120)
    age_max = forms.IntegerField(label=gettext_lazy("Maximum age"), required=False, min_value=0, max_value=120)
    categories = forms.MultipleChoiceField(label=gettext_lazy("Worker categories (none: any)"), required=False,
                                           widget=forms.SelectMultiple(attrs={"size": 6}))
    occupations = forms.MultipleChoiceField(label=gettext_lazy("Occupations (none: any)"), required=False,
                                            widget=forms.SelectMultiple(attrs={"size": 6}))
    quotas = forms.CharField(label=gettext_lazy("Quotas, one per line"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3, "placeholder": "desil 1 = 12451\ndesil 2 = 24119"}))
    sponsor = forms.ChoiceField(label=gettext_lazy("Existing sponsor"), required=False)
    new_sponsor = forms.CharField(label=gettext_lazy("or a new sponsor: name"), required=False, max_length=200)
    sponsor_kind = forms.ChoiceField(label=gettext_lazy("Kind of the new sponsor"), required=False,
                                     choices=[("", "-")] + SponsorKind.choices)
    budget = forms.IntegerField(label=gettext_lazy("Budget (Rp)"))
    year = forms.IntegerField(label=gettext_lazy("Budget year"), min_value=2000, max_value=2100)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        lang = _lang()
        self.fields["region"].choices = _regency_choices(user)
        self.fields["categories"].choices = [(c, vocab.category_label(c, lang)) for c in vocab.CATEGORIES]
        self.fields["occupations"].choices = [(c, vocab.occupation_label(c, lang)) for c in vocab.OCCUPATIONS]
        self.fields["sponsor"].choices = [("", "-")] + [
            (str(s.pk), f"{s.name} ({s.get_kind_display()})") for s in Sponsor.objects.order_by("name")]
        self.user = user
        if access.role_of(user) != Role.ADMIN:
            # A company or donor is added by an administrator, with its officers; an operator
            # names only a government sponsor of its own regency.
            self.fields["sponsor_kind"].choices = [("", "-")] + [
                (k, label) for k, label in SponsorKind.choices if k in access.GOVERNMENT_SPONSOR_KINDS]
        self.fields["year"].initial = timezone.now().year
        self.quota_list: list[dict] = []

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Program.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("A program with this name exists already."))
        return name

    def clean_budget(self):
        budget = self.cleaned_data["budget"]
        if budget < 0:
            raise forms.ValidationError(_("The budget cannot be negative."))
        return budget

    def clean_quotas(self):
        quotas, errors = parse_quotas(self.cleaned_data["quotas"])
        if errors:
            raise forms.ValidationError(errors)
        self.quota_list = quotas
        return self.cleaned_data["quotas"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start_month"), data.get("end_month")
        if start and end and end < start:
            self.add_error("end_month", _("The last month is before the first month."))
        basis = data.get("income_basis")
        if start and end and basis is not None and end >= start:
            try:
                program = Program(start_month=start, end_month=end)
                lowest = max(minimum_basis(rulebook(), m) for m in services.months_of(program))
            except RuleError as exc:
                self.add_error("start_month", _("No contribution rule is in force for these months: %(e)s")
                               % {"e": exc})
            else:
                if basis < lowest:
                    self.add_error("income_basis", _("The income basis is below the lowest level, Rp %(min)s.")
                                   % {"min": _n(lowest)})
        scale = data.get("decile_scale")
        lo, hi = data.get("decile_min"), data.get("decile_max")
        if (lo is not None or hi is not None) and not scale:
            self.add_error("decile_scale", _("Choose the scale the deciles are on."))
        if scale and hi is not None and hi > DECILE_LIMITS[scale]:
            self.add_error("decile_max", _("The %(scale)s scale goes up to %(n)s.")
                           % {"scale": scale.upper(), "n": DECILE_LIMITS[scale]})
        if lo is not None and hi is not None and lo > hi:
            self.add_error("decile_max", _("The highest decile is below the lowest."))
        if data.get("age_min") is not None and data.get("age_max") is not None and data["age_min"] > data["age_max"]:
            self.add_error("age_max", _("The maximum age is below the minimum."))
        existing, new = data.get("sponsor"), (data.get("new_sponsor") or "").strip()
        if existing and new:
            self.add_error("new_sponsor", _("Choose an existing sponsor or name a new one, not both."))
        elif not existing and not new:
            self.add_error("sponsor", _("Choose a sponsor or name a new one."))
        elif new:
            if not data.get("sponsor_kind"):
                self.add_error("sponsor_kind", _("Say what kind of sponsor it is."))
            if Sponsor.objects.filter(name__iexact=new).exists():
                self.add_error("new_sponsor", _("This sponsor exists already; choose it from the list."))
            elif data.get("sponsor_kind") and not access.can_create_sponsor(self.user, data["sponsor_kind"],
                                                                           data.get("region")):
                self.add_error("sponsor_kind", _("Only an administrator adds a company or donor as a sponsor; "
                                                 "choose an existing sponsor."))
        year = data.get("year")
        if start and end and year and not (start.year <= year <= end.year):
            self.add_error("year", _("The budget year must be a year the program covers (%(a)s-%(b)s).")
                           % {"a": start.year, "b": end.year})
        return data


def _create_program(form: ProgramForm, user) -> Program:
    data = form.cleaned_data
    fields = dict(
        name=data["name"], description=data["description"], status=data["status"], region_id=data["region"],
        start_month=data["start_month"], end_month=data["end_month"], jht=data["jht"],
        income_basis=data["income_basis"], decile_scale=data["decile_scale"] or "",
        decile_min=data["decile_min"], decile_max=data["decile_max"], age_min=data["age_min"],
        age_max=data["age_max"], categories=list(data["categories"]), occupations=list(data["occupations"]),
        quotas=form.quota_list)
    sponsor = Sponsor.objects.get(pk=int(data["sponsor"])) if data["sponsor"] else None
    new_sponsor = None if sponsor else {"name": data["new_sponsor"].strip(), "kind": data["sponsor_kind"],
                                        "region_id": data["region"]}
    return services.create_program(user, fields, sponsor=sponsor, new_sponsor=new_sponsor, year=data["year"],
                                   budget=data["budget"])


@login_required
@require_http_methods(["GET", "POST"])
def program_list(request):
    if not access.can_see_programs(request.user):
        raise PermissionDenied
    may_create = access.can_manage_program(request.user)
    form = None
    if may_create:
        form = ProgramForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                program = _create_program(form, request.user)
            except PermissionDenied as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("Program %(name)s created.") % {"name": program.name})
                return redirect("program_detail", pk=program.pk)
    elif request.method == "POST":
        raise PermissionDenied
    programs = list(access.programs_visible_to(request.user).select_related("region").annotate(
        members=Count("memberships", filter=Q(memberships__status__in=LIVE_STATUSES))).order_by("name"))
    funders = {}
    for f in ProgramSponsor.objects.filter(program__in=programs).select_related("sponsor"):
        funders.setdefault(f.program_id, []).append(f)
    rows = []
    for p in programs:
        run = _latest_run(p)
        rows.append({"program": p, "funders": funders.get(p.pk, []), "run": run,
                     "by_decile": sorted((run.report.get("funded_by_decile") or {}).items()) if run else []})
    return render(request, "programs/list.html", {
        "rows": rows, "form": form, "open_form": request.method == "POST",
    })


# --- one program -----------------------------------------------------------------------

def _detail_context(request, program: Program) -> dict:
    lang = _lang()
    try:
        envelopes = services.envelopes(program)
        envelope_error = ""
    except RuleError as exc:
        envelopes, envelope_error = [], str(exc)
    in_envelopes = {e.funder.pk for e in envelopes}
    funders = list(program.funders.select_related("sponsor").order_by("priority", "sponsor__name"))
    run = _latest_run(program)
    report = run.report if run else {}
    last_what_if = program.allocations.filter(what_if=True, status="done").order_by("-id").first()
    if last_what_if and run and last_what_if.pk < run.pk:
        last_what_if = None
    counts = dict(Membership.objects.filter(program=program).values_list("status").annotate(n=Count("id")))
    statuses = [{"code": code, "label": label, "count": counts.get(code, 0)} for code, label in MembershipStatus.choices]
    running = program.allocations.filter(status="running", created_at__gte=timezone.now() - timedelta(hours=2))
    return {
        "program": program, "funders": funders, "envelopes": envelopes, "envelope_error": envelope_error,
        "outside_years": [f for f in funders if f.pk not in in_envelopes and f.status == EnvelopeStatus.ACCEPTED],
        # Envelopes its sponsor has not accepted: shown, never allocated.
        "waiting": [f for f in funders if f.status != EnvelopeStatus.ACCEPTED],
        "months": len(services.months_of(program)),
        "categories": [vocab.category_label(c, lang) for c in program.categories or []],
        "occupations": [vocab.occupation_label(c, lang) for c in program.occupations or []],
        "quotas": [_quota_text(q.get("field"), q.get("value"), q.get("limit", 0)) for q in program.quotas or []],
        "run": run, "report": report, "what_if_run": last_what_if,
        "what_if_report": last_what_if.report if last_what_if else {},
        "unfunded": _reason_rows(report.get("unfunded_by_reason")),
        "ineligible": _reason_rows(report.get("ineligible_by_reason")),
        "by_decile": sorted((report.get("funded_by_decile") or {}).items(), key=lambda kv: (kv[0] == "None", kv[0])),
        "cost_per_month": _month_ranges(report.get("cost_per_month") or {}),
        "budget_left": sorted((report.get("budget_left") or {}).items()),
        "statuses": statuses, "proposed": counts.get(MembershipStatus.PROPOSED, 0),
        "submitted": counts.get(MembershipStatus.SUBMITTED, 0),
        "can_manage": access.can_manage_program(request.user, program),
        "runs": [_labelled(r) for r in program.allocations.order_by("-id")[:10]], "running": running.exists(),
        "failed": program.allocations.filter(status="failed").order_by("-id").first(),
    }


@login_required
def program_detail(request, pk):
    program = _visible_program(request, pk)
    return render(request, "programs/detail.html", _detail_context(request, program))


@login_required
@require_POST
def program_allocate(request, pk):
    program = _managed_program(request, pk)
    what_if = request.POST.get("what_if") == "1"
    services.fail_interrupted()  # an allocation whose process died does not block a new one
    busy = program.allocations.filter(status="running", created_at__gte=timezone.now() - timedelta(hours=2))
    if busy.exists():
        messages.error(request, _("An allocation of this program is still running; wait for it to finish."))
        return redirect("program_detail", pk=program.pk)
    user = request.user
    if not settings.KELAMBU_IMPORT_IN_BACKGROUND:
        try:
            result = services.allocate_program(program, user, what_if=what_if)
        except (PermissionDenied, ValidationError, RuleError) as exc:
            messages.error(request, _("The allocation failed: %(error)s") % {"error": _error_text(exc)})
            return redirect("program_detail", pk=program.pk)
        _allocation_message(request, result.report)
        return redirect("program_run", pk=program.pk, run_id=result.run.pk)
    token = uuid.uuid4().hex
    tasks.update(token, user=user.pk, program=program.pk, what_if=what_if, run=None, error="", done=False)
    tasks.update(token, task=enqueue(tasks.allocate_task, token, user.pk, program.pk, what_if))
    return redirect("program_progress", pk=program.pk, token=token)


def _allocation_message(request, report: dict) -> None:
    if report.get("what_if"):
        messages.success(request, _("Simulation: %(funded)s of %(eligible)s eligible people would be funded. "
                                    "Nothing was changed.") % {"funded": _n(report.get("funded", 0)),
                                                               "eligible": _n(report.get("eligible", 0))})
    else:
        messages.success(request, _("Allocation done: %(funded)s of %(eligible)s eligible people funded, "
                                    "%(new)s new memberships proposed.") % {
            "funded": _n(report.get("funded", 0)), "eligible": _n(report.get("eligible", 0)),
            "new": _n(report.get("memberships_new", 0))})


def _own_progress(request, pk, token) -> dict:
    program = _managed_program(request, pk)
    state = cache.get(tasks.progress_key(token))
    if not state or state.get("user") != request.user.pk or state.get("program") != program.pk:
        raise Http404
    failure = task_failure(state.get("task")) if not state.get("done") else None
    if failure:  # the worker died or the job failed before it could say so
        state.update(done=True, error=failure)
    return state


@login_required
def program_progress(request, pk, token):
    state = _own_progress(request, pk, token)
    if state.get("done") and state.get("run") and not state.get("error"):
        _allocation_message(request, state.get("report") or {})
        return redirect("program_run", pk=pk, run_id=state["run"])
    program = get_object_or_404(Program, pk=pk)
    return render(request, "programs/progress.html", {"program": program, "token": token, "state": state})


@login_required
def program_status(request, pk, token):
    state = _own_progress(request, pk, token)
    finished = bool(state.get("done"))
    url = reverse("program_progress", args=[pk, token]) if finished and not state.get("error") else (
        reverse("program_detail", args=[pk]))
    return JsonResponse({"finished": finished, "error": state.get("error", ""), "url": url})


# --- exchange files with the BPJS branch ----------------------------------------------

@login_required
@require_POST
def program_export(request, pk):
    program = _managed_program(request, pk)
    fmt = "csv" if request.POST.get("format") == "csv" else "xlsx"
    statuses = (MembershipStatus.PROPOSED,)
    if request.POST.get("again") == "1":
        statuses = (MembershipStatus.PROPOSED, MembershipStatus.SUBMITTED)
    try:
        frame = enrollment.export_frame(program, request.user, statuses=statuses)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _error_text(exc))
        return redirect("program_detail", pk=program.pk)
    if frame.is_empty():
        messages.info(request, _("No membership waits to be sent to BPJS."))
        return redirect("program_detail", pk=program.pk)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        body = to_xlsx_bytes(frame, "Pendaftaran")
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, ctype = to_csv_bytes(frame), "text/csv; charset=utf-8"
    audit(request.user, "download.bpjs_export", program,
          summary=f"BPJS exchange file of {program.name} downloaded ({frame.height} rows)")
    return attachment(body, ctype, f"bpjs-program-{program.pk}-{stamp}.{fmt}")


class AnswerForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("The branch's answer (XLSX or CSV)"))


@login_required
@require_POST
def program_answer(request, pk):
    program = _managed_program(request, pk)
    form = AnswerForm(request.POST, request.FILES)
    errors: list[str] = []
    if not form.is_valid():
        errors = [e for errs in form.errors.values() for e in errs]
    else:
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            errors = [_("The answer must be an XLSX or CSV file.")]
        elif upload.size > enrollment.MAX_ANSWER_BYTES:
            errors = [_("The answer file is larger than 50 MB.")]
        else:
            folder = Path(settings.MEDIA_ROOT) / "answers"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{uuid.uuid4().hex}{suffix}"
            with open(path, "wb") as f:
                for chunk in upload.chunks():
                    f.write(chunk)
            try:
                result = enrollment.import_answer(program, path, request.user)
            except ValidationError as exc:
                errors = list(exc.messages)
            except (PermissionDenied, RuleError) as exc:
                errors = [_error_text(exc)]
            else:
                messages.success(request, _("BPJS answer read: %(registered)s registered with a KPJ, %(rejected)s "
                                            "rejected, %(replaced)s proposed in place of the rejected.") % {
                    "registered": _n(result.registered), "rejected": _n(result.rejected),
                    "replaced": _n(result.replaced)})
                return redirect("program_detail", pk=program.pk)
            finally:
                path.unlink(missing_ok=True)
    context = _detail_context(request, program)
    context["answer_errors"] = errors
    return render(request, "programs/detail.html", context, status=400)


# --- memberships -----------------------------------------------------------------------

@login_required
def membership_list(request, pk):
    program = _visible_program(request, pk)
    members = Membership.objects.filter(program=program).select_related("person", "sponsor").order_by(
        "person__name_norm", "pk")
    members = members.filter(access.member_scope(request.user))
    own = access.sponsor_id_of(request.user)
    status = request.GET.get("status", "")
    if status == "live":
        members = members.filter(status__in=LIVE_STATUSES)
    elif status in MembershipStatus.values:
        members = members.filter(status=status)
    q = request.GET.get("q", "").strip()
    if q:
        members = _search_people(request, members, q, "program members")
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    show_nik = access.can_see_nik(request.user)
    manage = access.can_manage_program(request.user, program)
    rows = [{"m": m, "nik": m.person.nik if show_nik or not m.person.nik else mask_nik(m.person.nik),
             "live": m.status in LIVE_STATUSES} for m in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "programs/members.html", {
        "program": program, "page": page, "rows": rows, "status": status, "q": q,
        "statuses": MembershipStatus.choices, "end_reasons": EndReason.choices, "can_manage": manage,
        # A company sees whom it pays for by name and masked NIK only: no registry links, no
        # KPJ; it may propose corrections (accounts.access.can_see_member_details).
        "can_link": access.can_see_people(request.user), "details": access.can_see_member_details(request.user),
        "can_propose": bool(own), "query": query.urlencode(),
        "today": timezone.localdate(), "next": request.get_full_path(),
    })


@login_required
@require_POST
def membership_end(request, pk, member_id):
    program = _managed_program(request, pk)
    member = get_object_or_404(Membership.objects.select_related("program", "person"), pk=member_id, program=program)
    fallback = reverse("program_members", args=[program.pk])
    target = request.POST.get("next") or ""
    back = target if target.startswith(fallback) else fallback
    try:
        on = date.fromisoformat(request.POST.get("on") or "")
    except ValueError:
        messages.error(request, _("Give the date the membership ends."))
        return redirect(back)
    try:
        enrollment.end_membership(member, request.POST.get("reason", ""), on, request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The membership of %(name)s ended on %(on)s.") % {
            "name": member.person.name, "on": on.strftime("%d-%m-%Y")})
    return redirect(back)


# --- the outcomes of a run -------------------------------------------------------------

@login_required
def run_outcomes(request, pk, run_id):
    program = _visible_program(request, pk)
    run = _labelled(get_object_or_404(AllocationRun.objects.select_related("created_by"), pk=run_id, program=program))
    outcomes = Outcome.objects.filter(run=run).select_related("person", "sponsor")
    outcomes = outcomes.filter(access.member_scope(request.user))
    result = request.GET.get("result", "")
    if result in RESULTS:
        outcomes = outcomes.filter(result=result)
    reason = request.GET.get("reason", "")
    if reason:
        outcomes = outcomes.filter(reason=reason)
    q = request.GET.get("q", "").strip()
    if q:
        outcomes = _search_people(request, outcomes, q, "allocation outcomes")
    outcomes = outcomes.order_by("result", "reason", "person__decile", "person__name_norm", "pk")
    page = Paginator(outcomes, PAGE_SIZE).get_page(request.GET.get("page"))
    sponsors = {str(s.pk): s.name for s in Sponsor.objects.filter(programs__program=program)}
    show_nik = access.can_see_nik(request.user)
    rows = []
    for o in page.object_list:
        params = dict(o.params or {}) if isinstance(o.params, dict) else {}
        if o.result == "funded" and o.sponsor_id:
            params["sponsor"] = str(o.sponsor_id)
            sponsors.setdefault(str(o.sponsor_id), o.sponsor.name if o.sponsor else "")
        nik = o.person.nik or ""
        rows.append({"o": o, "nik": nik if show_nik or not nik else mask_nik(nik),
                     "text": explain(o.result, o.reason, params, sponsors)})
    report = run.report or {}
    codes = sorted(set(report.get("unfunded_by_reason") or {}) | set(report.get("ineligible_by_reason") or {}))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "programs/run.html", {
        "program": program, "run": run, "report": report, "page": page, "rows": rows,
        "results": list(RESULTS.items()), "reasons": [(c, REASON_LABELS.get(c, c)) for c in codes],
        "result": result, "reason": reason, "q": q, "query": query.urlencode(),
        "can_link": access.can_see_people(request.user), "details": access.can_see_member_details(request.user),
    })


# --- a sponsor's answers to funding requests ---------------------------------------------

@login_required
@require_GET
def funding_requests(request):
    """The programs that ask this sponsor (a company's officers) to put money in: accepted,
    declined or waiting, with the budget and months asked."""
    if not access.can_answer_funding(request.user):
        raise PermissionDenied
    requests = access.envelope_requests(request.user)
    rows = requests.select_related("program", "program__region", "sponsor", "requested_by", "decided_by").order_by(
        "status", "-pk")
    return render(request, "programs/requests.html", {
        "rows": rows, "waiting": rows.filter(status=EnvelopeStatus.PROPOSED).count()})


@login_required
@require_POST
def funding_decide(request, pk):
    envelope = get_object_or_404(access.envelope_requests(request.user), pk=pk)
    accept = request.POST.get("decision") == "accept"
    try:
        services.decide_envelope(envelope, request.user, accept=accept, note=request.POST.get("note", "")[:300])
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Funding accepted: the program may now allocate it.") if accept
                         else _("Funding declined: none of it will be allocated."))
    return redirect("funding_requests")


# --- a company proposes a correction of a member it pays for ------------------------------

class ProposalForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Corrected name"), required=False, max_length=255)
    address = forms.CharField(label=gettext_lazy("Corrected address"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}))
    phone = forms.CharField(label=gettext_lazy("Corrected phone"), required=False, max_length=20)
    reason = forms.CharField(label=gettext_lazy("Why (what you know and how)"), max_length=300)


@login_required
@require_http_methods(["GET", "POST"])
def membership_propose(request, pk, member_id):
    program = _visible_program(request, pk)
    member = get_object_or_404(Membership.objects.filter(access.member_scope(request.user)).select_related("person"),
                               pk=member_id, program=program)
    if not access.can_propose(request.user, member.person):
        raise PermissionDenied
    form = ProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from kelambu.registry.decisions import propose_correction

        data = form.cleaned_data
        try:
            propose_correction(member.person, request.user, {k: data[k] for k in ("name", "address", "phone")},
                               data["reason"])
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _("Correction proposed: the regency will decide it."))
            return redirect("program_members", pk=program.pk)
    nik = member.person.nik
    return render(request, "programs/propose.html", {
        "program": program, "member": member, "form": form, "nik": mask_nik(nik) if nik else "",
    })
