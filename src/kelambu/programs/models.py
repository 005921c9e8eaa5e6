"""Sponsors, programs, allocations and memberships (REFERENCE 2, 3, 5).

The one rule the database itself enforces: a person is funded at most once for a month
(`FundedMonth`, unique on person and month), whatever code or however many allocations
running at once try otherwise.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kelambu.registry.models import DecileScale
from kelambu.rules.services import lowest_income_basis


class SponsorKind(models.TextChoices):
    # The value is the funding kind the contribution rules know (lib/contributions.py).
    APBD = "apbd", _("Regency or province government (APBD)")
    APBDES = "apbdes", _("Village (APBDes / Dana Desa)")
    CSR = "csr", _("Company (CSR)")
    DONOR = "donor", _("Other donor")


class LegalBasis(models.TextChoices):
    PERBUP = "perbup", _("Regent regulation (Perbup)")
    SE_BUPATI = "se_bupati", _("Regent circular (SE Bupati)")
    PKS = "pks", _("Cooperation agreement (PKS)")
    MOU = "mou", _("Memorandum of understanding (MoU)")
    OTHER = "other", _("Other")


class Sponsor(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=SponsorKind.choices)
    region = models.ForeignKey("regions.Region", verbose_name=_("region"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    legal_basis = models.CharField(_("legal basis"), max_length=10, choices=LegalBasis.choices, blank=True)
    legal_number = models.CharField(_("number"), max_length=100, blank=True)
    legal_date = models.DateField(_("date"), null=True, blank=True)
    legal_document = models.CharField(_("document (link or file name)"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=200, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sponsor")
        verbose_name_plural = _("sponsors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Program(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT)
    region = models.ForeignKey("regions.Region", verbose_name=_("region"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    # Coverage: first days of the first and the last month covered.
    start_month = models.DateField(_("first month"))
    end_month = models.DateField(_("last month"))
    jht = models.BooleanField(_("with JHT"), default=False)
    # The lowest level in force by default (lib/data/income_basis.csv), not a constant here.
    income_basis = models.PositiveIntegerField(_("income basis (Rp)"), default=lowest_income_basis)
    # Eligibility (null / empty = no condition).
    decile_scale = models.CharField(_("decile scale"), max_length=8, choices=DecileScale.choices, blank=True)
    decile_min = models.SmallIntegerField(_("lowest decile"), null=True, blank=True)
    decile_max = models.SmallIntegerField(_("highest decile"), null=True, blank=True)
    age_min = models.SmallIntegerField(_("minimum age"), null=True, blank=True)
    age_max = models.SmallIntegerField(_("maximum age"), null=True, blank=True)
    categories = models.JSONField(_("worker categories"), default=list, blank=True)
    occupations = models.JSONField(_("occupations"), default=list, blank=True)
    regions = models.JSONField(_("regions (codes)"), default=list, blank=True)
    exclude_funded = models.BooleanField(_("leave out people already funded for these months"), default=True)
    # REFERENCE 5: whether one NIK may be active as PU and BPU at once is open: flag, never exclude.
    flag_active_elsewhere = models.BooleanField(_("flag people already active as PU or BPU elsewhere"),
                                                default=True)
    # Quotas: [{"field": "category" | "region" | "decile", "value": "...", "limit": n}]
    quotas = models.JSONField(_("quotas"), default=list, blank=True)
    # Priority after "poorest decile first": [["age", "desc"], ...]
    priority = models.JSONField(_("priority"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(end_month__gte=models.F("start_month")),
                                              name="programs_program_months_ordered")]

    def __str__(self) -> str:
        return self.name


class EnvelopeStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for the sponsor's acceptance")
    ACCEPTED = "accepted", _("Accepted by the sponsor")
    DECLINED = "declined", _("Declined by the sponsor")


class ProgramSponsor(models.Model):
    """A sponsor's part in a program: its budget envelope and, optionally, a narrower scope.
    Its money is committed only once the sponsor has accepted (status), recorded with who
    and when; an allocation uses accepted envelopes only."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="funders")
    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="programs")
    year = models.PositiveSmallIntegerField(_("budget year"))
    budget = models.BigIntegerField(_("budget (Rp)"))
    regions = models.JSONField(_("regions (codes)"), default=list, blank=True)
    categories = models.JSONField(_("worker categories"), default=list, blank=True)
    priority = models.SmallIntegerField(_("order among sponsors"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=EnvelopeStatus.choices,
                              default=EnvelopeStatus.PROPOSED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("program sponsor")
        verbose_name_plural = _("program sponsors")
        ordering = ["program", "priority", "sponsor__name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "sponsor", "year"], name="programs_one_envelope"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="programs_budget_not_negative"),
        ]


class AllocationRun(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="allocations")
    what_if = models.BooleanField(_("what-if"), default=False)
    status = models.CharField(_("status"), max_length=8, default="running")
    report = models.JSONField(_("report"), default=dict, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    # The process running it (jobs.runners): a run whose process died is marked failed.
    runner = models.CharField(_("runner"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("allocation run")
        verbose_name_plural = _("allocation runs")
        ordering = ["-id"]


class Outcome(models.Model):
    """Why each candidate of a run was funded, not funded or not eligible."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="outcomes", db_constraint=False,
                            db_index=False)
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    result = models.CharField(_("result"), max_length=12)  # funded | unfunded | ineligible
    sponsor = models.ForeignKey(Sponsor, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                db_constraint=False)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    params = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "person"]), models.Index(fields=["run", "result", "reason"])]


class MembershipStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    SUBMITTED = "submitted", _("Submitted to BPJS")
    REGISTERED = "registered", _("Registered (KPJ)")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")
    REJECTED = "rejected", _("Rejected by BPJS")


LIVE_STATUSES = (MembershipStatus.PROPOSED, MembershipStatus.SUBMITTED, MembershipStatus.REGISTERED,
                 MembershipStatus.ACTIVE)


class EndReason(models.TextChoices):
    DEATH = "death", _("Died")
    MOVED = "moved", _("Moved away")
    BECAME_PU = "became_pu", _("Became a wage earner (PU)")
    PROGRAM_ENDED = "program_ended", _("Program ended")
    OTHER = "other", _("Other")


class Membership(models.Model):
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="memberships",
                               db_constraint=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="memberships")
    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="memberships")
    allocation = models.ForeignKey(AllocationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start_month = models.DateField(_("first month"))
    end_month = models.DateField(_("last month"))
    status = models.CharField(_("status"), max_length=10, choices=MembershipStatus.choices,
                              default=MembershipStatus.PROPOSED)
    kpj = models.CharField("KPJ", max_length=20, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)  # a rejection's, from the branch
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=16, choices=EndReason.choices, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["program", "person"]
        indexes = [models.Index(fields=["program", "status"]), models.Index(fields=["person"])]
        constraints = [
            models.UniqueConstraint(fields=["kpj"], condition=~Q(kpj=""), name="programs_kpj_unique"),
        ]


class FundedMonth(models.Model):
    """One month of one live membership: unique per person, so no one is funded twice for
    a month. Rows go when a membership is rejected or ends."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="months")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+", db_constraint=False,
                               db_index=False)
    month = models.DateField(_("month"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "month"], name="programs_funded_once_a_month")]


class ParticipationKind(models.TextChoices):
    PU = "pu", _("Wage earner (PU)")
    BPU = "bpu", _("Non-wage earner (BPU)")


class ActiveParticipation(models.Model):
    """A NIK the BPJS branch reports as an active participant (as a wage earner through an
    employer, or as a BPU paid by someone else), from its participant list. Read to flag
    program candidates, never to exclude them."""

    nik = models.CharField("NIK", max_length=16, db_index=True)
    kind = models.CharField(_("kind"), max_length=3, choices=ParticipationKind.choices)
    kpj = models.CharField("KPJ", max_length=20, blank=True)
    as_of = models.DateField(_("as of"))
    source = models.CharField(_("source file"), max_length=255)
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("active participation")
        verbose_name_plural = _("active participations")
        constraints = [models.UniqueConstraint(fields=["nik", "kind"], name="programs_participation_once")]
