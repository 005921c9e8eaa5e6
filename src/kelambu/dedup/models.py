from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MatchRun(models.Model):
    """One deduplication run over the people of a region (or all)."""

    region = models.CharField(_("region"), max_length=13, blank=True)  # "" = everyone
    status = models.CharField(_("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    people = models.PositiveIntegerField(_("people compared"), default=0)
    records = models.PositiveIntegerField(_("source records"), default=0)
    pairs_scored = models.PositiveIntegerField(_("pairs scored"), default=0)
    clusters = models.PositiveIntegerField(_("clusters"), default=0)
    auto_merged = models.PositiveIntegerField(_("merged automatically"), default=0)
    for_review = models.PositiveIntegerField(_("for review"), default=0)
    nik_conflicts = models.PositiveIntegerField(_("NIK conflicts"), default=0)
    options = models.JSONField(_("settings"), default=dict, blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    # The process running it (jobs.runners): a run whose process died is marked failed.
    runner = models.CharField(_("runner"), max_length=100, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("deduplication run")
        verbose_name_plural = _("deduplication runs")
        ordering = ["-id"]


class PairKind(models.TextChoices):
    MATCH = "match", _("Probable match")
    NIK_TYPO = "nik_typo", _("NIK typo")
    NIK_CONFLICT = "nik_conflict", _("One NIK, different people?")


class PairStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    DEFERRED = "deferred", _("Deferred")
    ACCEPTED = "accepted", _("Same person")
    REJECTED = "rejected", _("Different people")
    AUTO_MERGED = "auto", _("Merged automatically")
    SUPERSEDED = "superseded", _("No longer applies")


OPEN_STATUSES = (PairStatus.PENDING, PairStatus.DEFERRED)


class Pair(models.Model):
    """Two people the matcher thinks may be one (or, for a NIK conflict, two records under
    one NIK that may be two people): the review queue."""

    kind = models.CharField(_("kind"), max_length=12, choices=PairKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=PairStatus.choices, default=PairStatus.PENDING)
    run = models.ForeignKey(MatchRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="pairs")
    # person_a.id < person_b.id; for a NIK conflict both are the same person.
    person_a = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    person_b = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    record_a = models.ForeignKey("registry.SourceRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", db_constraint=False)
    record_b = models.ForeignKey("registry.SourceRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", db_constraint=False)
    match_probability = models.FloatField(_("match probability"), null=True, blank=True)
    match_weight = models.FloatField(_("match weight"), null=True, blank=True)
    # Per comparison: the level met and its weight (engine.explain).
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("found"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("candidate pair")
        verbose_name_plural = _("candidate pairs")
        ordering = ["-match_probability", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "person_a", "person_b", "record_a", "record_b"],
                                    name="dedup_pair_unique"),
            models.UniqueConstraint(fields=["kind", "person_a", "person_b"], condition=Q(record_a__isnull=True),
                                    name="dedup_pair_unique_people"),
            models.CheckConstraint(condition=Q(person_a__lte=models.F("person_b")), name="dedup_pair_ordered"),
        ]
        indexes = [
            models.Index(fields=["status", "kind"]),
            models.Index(fields=["person_b"]),
        ]


class MergeKind(models.TextChoices):
    MERGE = "merge", _("Merge")
    SPLIT = "split", _("Split")


class Merge(models.Model):
    """A merge of one person into another (or the split of a record into a new person),
    with what is needed to undo it."""

    kind = models.CharField(_("kind"), max_length=8, choices=MergeKind.choices, default=MergeKind.MERGE)
    pair = models.ForeignKey(Pair, null=True, blank=True, on_delete=models.SET_NULL, related_name="merges")
    survivor = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    absorbed = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    # Source records moved (to the survivor, or for a split to the new person).
    records = models.JSONField(_("records moved"), default=list)
    # People merged earlier into the absorbed one, pointed at the survivor with it.
    redirected = models.JSONField(_("people redirected"), default=list)
    automatic = models.BooleanField(_("automatic"), default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-id"]
        indexes = [models.Index(fields=["absorbed"]), models.Index(fields=["survivor"])]
