from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kelambu.lib import vocab


class Source(models.TextChoices):
    P3KE = "p3ke", "P3KE"
    DTSEN = "dtsen", "DTSEN"
    VILLAGE = "village", _("Village roster")
    SPONSOR = "sponsor", _("Sponsor list")
    OTHER = "other", _("Other list")


class DecileScale(models.TextChoices):
    P3KE = "p3ke", _("P3KE (1-4)")
    DTSEN = "dtsen", _("DTSEN (1-10)")


# The welfare scale a list's deciles are on, unless the operator says otherwise: P3KE ranks
# 1-4 (REFERENCE 7); DTSEN, the single register every other list now derives from, 1-10.
DEFAULT_SCALE = {Source.P3KE: DecileScale.P3KE}


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


class ImportBatch(models.Model):
    """One file imported from one source: its rows are its SourceRecords."""

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    # The sponsor whose own list this is (source "sponsor"): filed by its officers or an admin.
    sponsor = models.ForeignKey(
        "programs.Sponsor", verbose_name=_("sponsor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # For a list of people someone pays for (a sponsor's, a village's): the months paid,
    # first day of the first and of the last month. The double-funding report reads them.
    funded_from = models.DateField(_("funded from"), null=True, blank=True)
    funded_to = models.DateField(_("funded to"), null=True, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    decile_scale = models.CharField(_("decile scale"), max_length=8, choices=DecileScale.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    warnings = models.PositiveIntegerField(_("rows with warnings"), default=0)
    people_new = models.PositiveIntegerField(_("new people"), default=0)
    people_updated = models.PositiveIntegerField(_("updated people"), default=0)
    # Rows that matched someone the importer may not change, or would have added someone the
    # importer may not add: held (Hold) for the owning region, nothing changed.
    held = models.PositiveIntegerField(_("held rows"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error_code = models.CharField(_("error code"), max_length=32, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="import_batches",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Which process runs the import ("host:pid"), so a run whose process died is found and
    # marked failed instead of staying "running" for ever (services.fail_interrupted).
    runner = models.CharField(_("runner"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-id"]
        constraints = [
            # The same file imported twice changes nothing: one completed real import per file.
            models.UniqueConstraint(
                fields=["file_sha256"], condition=Q(status="done", dry_run=False),
                name="registry_one_import_per_file",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name} ({self.get_source_display()})"


class SourceRecord(models.Model):
    """One row of one imported list, as staged: its normalized values, its issues and,
    once promoted, the person it is. Kept for ever: it is the provenance of every value
    and the history of what each list said."""

    # Indexed below (named), not by the ForeignKey.
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="records", db_index=False, db_constraint=False,
    )
    row = models.PositiveIntegerField(_("row"))
    record_id = models.CharField(_("record id"), max_length=100, null=True, blank=True)
    status = models.CharField(_("status"), max_length=8)  # accepted / rejected / held (see Hold)
    issues = models.CharField(_("issues"), max_length=300, null=True, blank=True)
    # The cells as the file had them, for rows with an issue (export of rejected rows).
    raw = models.TextField(_("original cells"), null=True, blank=True)
    person = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="records", db_constraint=False,
    )
    nik = models.CharField("NIK", max_length=16, null=True, blank=True)
    kk = models.CharField("KK", max_length=16, null=True, blank=True)
    name = models.CharField(_("name"), max_length=255, null=True, blank=True)
    name_norm = models.CharField(_("normalized name"), max_length=255, null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, null=True, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    address = models.TextField(_("address"), null=True, blank=True)
    village = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False,
        db_index=False,
    )
    decile = models.SmallIntegerField(_("decile"), null=True, blank=True)
    occupation = models.CharField(_("occupation"), max_length=32, null=True, blank=True)
    category = models.CharField(_("category"), max_length=32, null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=16, null=True, blank=True)

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        ordering = ["batch_id", "row"]
        # Every index costs time on each of a million staged rows: only what reads need.
        indexes = [
            # A batch's rows are written together, so this index only ever appends; the few
            # rejected rows (their export) are sorted by row when read.
            models.Index(fields=["batch"], name="registry_sr_batch"),
            # People without a NIK are found again by the same source's record id.
            models.Index(fields=["record_id"], name="registry_sr_record_id_nonik", condition=Q(nik__isnull=True)),
        ]


class Household(models.Model):
    """A family by its KK number. The number changes when a family moves or splits
    (REFERENCE 6), so a new KK is a new household; the old one stays for history."""

    kk = models.CharField("KK", max_length=16, unique=True)
    # Not indexed: nothing looks households up by village, and a million-row import pays
    # for every index.
    village = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False,
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.kk


class HoldReason(models.TextChoices):
    OTHER_REGION = "other_region", _("The NIK is registered to a person outside the importer's area")
    UNVERIFIED = "unverified", _("A new person from a list whose importer may not add people")
    NEW_LIMIT = "new_limit", _("A new person beyond the importer's limit of new people")


class DecisionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for confirmation")
    # Its own context: "Confirmed" of a deduplication pair means certain ("Pasti").
    CONFIRMED = "confirmed", pgettext_lazy("held row or proposal", "Confirmed")
    DECLINED = "declined", _("Declined")


class Decision(models.Model):
    """What a held row and a proposed correction share: the region that decides, and the
    decision once made."""

    # The village (or coarser) code of the region that decides; empty: administrators decide.
    owner_region = models.CharField(_("deciding region"), max_length=13, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=DecisionStatus.choices,
                              default=DecisionStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        abstract = True

    def record_decision(self, actor, confirm: bool, note: str) -> None:
        self.status = DecisionStatus.CONFIRMED if confirm else DecisionStatus.DECLINED
        self.decided_by = actor if getattr(actor, "pk", None) else None  # a system actor is a name
        self.decided_at = timezone.now()
        self.note = note[:300]
        self.save()


class Hold(Decision):
    """A list row that would have changed a person its importer may not change, or added a
    person its importer may not add: staged as `held`, nothing changed, until the region the
    person lives in (for a new person, the row's region) confirms or declines it. The matched
    person is never shown to the importer."""

    record = models.OneToOneField(SourceRecord, on_delete=models.CASCADE, related_name="hold", db_constraint=False)
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="holds", db_constraint=False)
    reason = models.CharField(_("reason"), max_length=16, choices=HoldReason.choices)
    person = models.ForeignKey("Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               db_constraint=False)
    # owner_region: the matched person's village, or (a new person) the row's.
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("held row")
        verbose_name_plural = _("held rows")
        ordering = ["-batch_id", "record_id"]
        indexes = [models.Index(fields=["owner_region", "status"], name="registry_hold_owner")]


class Proposal(Decision):
    """A correction proposed by someone who may not make it (a CSR officer, for a member its
    company pays for), decided by the region the person lives in."""

    person = models.ForeignKey("Person", on_delete=models.CASCADE, related_name="proposals", db_constraint=False)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changes = models.JSONField(_("proposed values"), default=dict)
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("proposed correction")
        verbose_name_plural = _("proposed corrections")
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner_region", "status"], name="registry_proposal_owner")]


def prefix_range(field: str, code: str) -> Q:
    """Rows whose region code starts with `code` as a range, so an index serves it on both
    databases (a dotted code's children sort between 'code.' and 'code/')."""
    return Q(**{f"{field}__gte": code + ".", f"{field}__lt": code + "/"}) | Q(**{field: code})


def prefix_range_sql(column: str, codes) -> tuple[str, list]:
    """`prefix_range` for raw SQL: " AND (...)" matching any of `codes` (none: no condition)."""
    codes = [c for c in ([codes] if isinstance(codes, str) else codes) if c]
    if not codes:
        return "", []
    parts = " OR ".join(f"({column} = %s OR ({column} >= %s AND {column} < %s))" for _ in codes)
    return f" AND ({parts})", [v for c in codes for v in (c, c + ".", c + "/")]


class PersonQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PersonQuerySet":
        """The one scoped read of people: the web, exports and CLI all go through it."""
        from kelambu.accounts.access import person_scope

        scope = person_scope(user)
        return self.none() if scope is None else self.filter(scope)

    def active(self) -> "PersonQuerySet":
        """People who are not merged into another."""
        return self.filter(merged_into__isnull=True)


class Person(models.Model):
    """One person in the registry, whatever lists they came from (one NIK, one person).
    Current values come from the newest list that gave them; every list's own values stay
    in SourceRecord."""

    nik = models.CharField("NIK", max_length=16, unique=True, null=True, blank=True)
    kk = models.CharField("KK", max_length=16, null=True, blank=True)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members", db_constraint=False,
    )
    name = models.CharField(_("name"), max_length=255)
    name_norm = models.CharField(_("normalized name"), max_length=255)
    sex = models.CharField(_("sex"), max_length=1, null=True, blank=True, choices=[("L", _("Male")), ("P", _("Female"))])
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    address = models.TextField(_("address"), null=True, blank=True)
    # Indexed by the composite (village, category) below.
    village = models.ForeignKey(
        "regions.Region", verbose_name=_("village"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_constraint=False, db_index=False,
    )
    phone = models.CharField(_("phone"), max_length=16, null=True, blank=True)
    occupation = models.CharField(
        _("occupation"), max_length=32, null=True, blank=True,
        choices=[(k, v[0]) for k, v in vocab.OCCUPATIONS.items()],
    )
    category = models.CharField(
        _("worker category"), max_length=32, null=True, blank=True,
        choices=[(k, v[0]) for k, v in vocab.CATEGORIES.items()],
    )
    decile = models.SmallIntegerField(_("decile"), null=True, blank=True)
    decile_scale = models.CharField(_("decile scale"), max_length=8, null=True, blank=True, choices=DecileScale.choices)
    # Not indexed: written by every import, never searched by.
    last_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False,
        db_index=False,
    )
    # Set when deduplication found this record to be another person's (dedup.Merge keeps
    # how to undo it). Imports send such a person's new rows to the survivor.
    # Indexed only where set (see Meta): almost everyone is nobody's duplicate.
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_constraint=False, db_index=False,
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name_norm", "id"]
        indexes = [
            models.Index(fields=["village", "category"], name="registry_person_village_cat"),
            models.Index(fields=["merged_into"], name="registry_person_merged",
                         condition=Q(merged_into__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name

    def category_label(self) -> str:
        return vocab.category_label(self.category)

    def occupation_label(self) -> str:
        return vocab.occupation_label(self.occupation)
