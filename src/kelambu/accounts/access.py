"""What each user may see and do: the one place that decides it. Pages, exports, the CLI,
imports and background runs all ask these functions (docs/guide/access.md has the table).

Roles (accounts.models.Role) and scopes:
- admin: everything.
- regency operator (Dinsos, Disnakertrans, DPMD): people living in their regency; imports
  and corrections there; decides rows and proposals held for their regency.
- village operator: people living in their village; imports (with a limit of new people)
  and corrections there.
- BPJS branch officer: reads people living in the regencies of their branch (a regency or
  a province); changes nothing.
- CSR officer: acts for one sponsor entity. Files the company's own lists (which never change
  the registry and never reveal who is in it), answers its funding requests, sees the
  members it pays for by name and masked NIK, and may propose corrections of them. Sees no
  registry page.
- public viewer: no person at all, only aggregates.

A string actor is a system job run on the server (the CLI without --user, the demo): it
acts as an administrator and is named in the audit log.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from .models import Role

# Roles that see a whole NIK; the others see it masked, and may look one up only whole.
NIK_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR, Role.BPJS_OFFICER}
# Roles whose scope is a region prefix.
REGION_ROLES = {Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR, Role.BPJS_OFFICER}
# Region roles that change people (BPJS officers read only).
OPERATOR_ROLES = {Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR}
# Government sponsors whose money a regency operator of their region commits for the regency.
GOVERNMENT_SPONSOR_KINDS = {"apbd", "apbdes"}


def is_system(actor) -> bool:
    return isinstance(actor, str)


def role_of(user) -> str | None:
    if is_system(user):
        return Role.ADMIN
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return user.role


def region_prefix(user) -> str | None:
    """The region code a region-scoped user is confined to (None: not region-scoped)."""
    if role_of(user) in REGION_ROLES:
        return user.region_id or ""
    return None


def sponsor_id_of(user) -> int | None:
    """The sponsor a CSR officer acts for (None: not a sponsor's officer)."""
    if role_of(user) == Role.CSR_OFFICER:
        return user.sponsor_id
    return None


def _within(code: str | None, prefix: str) -> bool:
    return bool(code) and (code == prefix or code.startswith(prefix + "."))


# --- reading people ----------------------------------------------------------------------

def person_scope(user) -> Q | None:
    """The filter on Person for registry reads; None means no person may be seen."""
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role == Role.ADMIN:
        return Q()
    if role in REGION_ROLES:
        # A region-scoped account without a region sees nothing rather than everything.
        return prefix_range("village_id", user.region_id) if user.region_id else None
    # CSR officers: no registry reads. Naming a NIK in a company list must not reveal who
    # is registered, or what the registry holds about them (members: member_scope).
    return None


def can_see_people(user) -> bool:
    return person_scope(user) is not None


def can_see_nik(user) -> bool:
    return role_of(user) in NIK_ROLES


def can_see_member_details(user) -> bool:
    """KPJ numbers, deciles and links to the registry beside a membership: not for a
    company (it sees the name and masked NIK of whom it pays for)."""
    return role_of(user) in NIK_ROLES


# --- changing people ---------------------------------------------------------------------

def change_scope(user) -> Q | None:
    """The people a user may change (correct, or update by a list); None: nobody."""
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role == Role.ADMIN:
        return Q()
    if role in OPERATOR_ROLES and user.region_id:
        return prefix_range("village_id", user.region_id)
    return None


def can_change_person(user, person) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role in OPERATOR_ROLES and bool(user.region_id) and _within(person.village_id, user.region_id)


def can_import(user) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role in OPERATOR_ROLES:
        return bool(user.region_id)
    return role == Role.CSR_OFFICER and bool(user.sponsor_id)


def import_sources(user) -> list[str]:
    """The list sources a user may import: a company files only its own lists, and only its
    officers (or an administrator) file them."""
    from kelambu.registry.models import Source

    role = role_of(user)
    if role == Role.ADMIN:
        return list(Source.values)
    if role == Role.CSR_OFFICER and user.sponsor_id:
        return [Source.SPONSOR]
    if can_import(user):
        return [s for s in Source.values if s != Source.SPONSOR]
    return []


def sponsors_for_lists(user):
    """The sponsors whose lists a user may file."""
    from kelambu.programs.models import Sponsor

    role = role_of(user)
    if role == Role.ADMIN:
        return Sponsor.objects.all()
    if role == Role.CSR_OFFICER and user.sponsor_id:
        return Sponsor.objects.filter(pk=user.sponsor_id)
    return Sponsor.objects.none()


@dataclass(frozen=True)
class ImportPolicy:
    """What one importer's list may do to the registry (registry.services._assign_people).

    change_prefix: a matched person is updated only if they live under it ("" = anywhere,
    None = nobody: the row is then held unless `link_only`).
    add_prefix: a new person is added only in a village under it (rows outside it are
    OUT_OF_SCOPE; "" = anywhere; None = nobody: the row is held for verification).
    link_only: matched rows link to the person and change nothing (sponsor lists).
    new_people_left: how many new people the importer may still add (None: no limit); the
    rest are held.
    reveals_matches: whether the importer may learn which rows matched a registered person."""

    change_prefix: str | None
    add_prefix: str | None
    link_only: bool
    new_people_left: int | None
    reveals_matches: bool


def import_policy(actor, source: str) -> ImportPolicy:
    from kelambu.registry.models import Source

    link_only = source == Source.SPONSOR
    role = role_of(actor)
    if role == Role.ADMIN:
        return ImportPolicy("", "", link_only, None, True)
    if role in OPERATOR_ROLES and actor.region_id:
        left = None
        if role == Role.VILLAGE_OPERATOR:
            left = max(0, settings.KELAMBU_VILLAGE_NEW_PEOPLE_LIMIT - new_people_recently(actor))
        return ImportPolicy(actor.region_id, actor.region_id, link_only, left, True)
    if role == Role.CSR_OFFICER and actor.sponsor_id:
        return ImportPolicy(None, None, True, 0, False)
    raise PermissionDenied("This account may not import lists.")


def new_people_recently(user) -> int:
    """New people this user's imports added in the last 30 days."""
    from django.db.models import Sum

    from kelambu.registry.models import BatchStatus, ImportBatch

    since = timezone.now() - timedelta(days=30)
    total = ImportBatch.objects.filter(created_by=user, status=BatchStatus.DONE, dry_run=False,
                                       finished_at__gte=since).aggregate(n=Sum("people_new"))["n"]
    return total or 0


def sponsor_rows_recently(sponsor_id: int) -> int:
    """Rows the sponsor's officers filed in the last 30 days (every status but refused)."""
    from django.db.models import Sum

    from kelambu.registry.models import BatchStatus, ImportBatch

    since = timezone.now() - timedelta(days=30)
    total = ImportBatch.objects.filter(sponsor_id=sponsor_id, created_by__role=Role.CSR_OFFICER, dry_run=False,
                                       created_at__gte=since).exclude(status=BatchStatus.REFUSED).aggregate(
        n=Sum("rows"))["n"]
    return total or 0


def reveals_matches(user) -> bool:
    """Whether a user may learn which rows of a list matched registered people (new,
    updated, held): not a company, whose lists must not tell it who is registered."""
    return role_of(user) != Role.CSR_OFFICER


# --- import batches ----------------------------------------------------------------------

def batch_scope(user) -> Q | None:
    """Import batches a user may see: admins all; regency operators and BPJS officers those
    imported by anyone scoped inside their region; a sponsor's officers the sponsor's lists;
    others their own."""
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role is None or role == Role.PUBLIC:
        return None
    if role == Role.ADMIN:
        return Q()
    # An account without its region or sponsor sees no batch (it may not import either).
    if role in REGION_ROLES and not user.region_id or role == Role.CSR_OFFICER and not user.sponsor_id:
        return None
    if role in (Role.REGENCY_OPERATOR, Role.BPJS_OFFICER):
        return prefix_range("created_by__region_id", user.region_id) | Q(created_by=user)
    if role == Role.CSR_OFFICER:
        return Q(sponsor_id=user.sponsor_id, source="sponsor") | Q(created_by=user)
    return Q(created_by=user)


# --- held rows and proposed corrections --------------------------------------------------

def decision_scope(user) -> Q | None:
    """Held rows and proposals a user decides, by their `owner_region`: administrators all,
    regency operators their regency's (a move between villages or regencies is the regency's
    decision, not a village's)."""
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role == Role.ADMIN:
        return Q()
    if role == Role.REGENCY_OPERATOR and user.region_id:
        return prefix_range("owner_region", user.region_id)
    return None


def can_decide(user) -> bool:
    return decision_scope(user) is not None


def can_propose(user, person) -> bool:
    """A company's officer may propose a correction of a person it pays for."""
    from kelambu.programs.models import Membership

    sponsor = sponsor_id_of(user)
    return bool(sponsor) and Membership.objects.filter(person=person, sponsor_id=sponsor).exists()


# --- looking people up by NIK -----------------------------------------------------------

class LookupLimited(Exception):
    """Too many whole-NIK lookups by a role that sees NIKs masked."""


def nik_prefix_search(user) -> bool:
    """Only roles that see whole NIKs may search by part of one: for a masked role, ten
    prefix queries per digit would unmask every NIK."""
    return can_see_nik(user)


def record_nik_lookup(user, nik: str, where: str) -> None:
    """Every search by a whole NIK is audited; a role that sees NIKs masked may make at most
    KELAMBU_NIK_LOOKUPS_PER_HOUR of them (counted from the audit trail itself), so a
    guessed NIK cannot be confirmed by trying thousands. Raises LookupLimited."""
    from kelambu.audit.models import Event
    from kelambu.audit.services import record

    if not can_see_nik(user) and not is_system(user):
        since = timezone.now() - timedelta(hours=1)
        done = Event.objects.filter(actor=user, action="search.nik", at__gte=since).count()
        if done >= settings.KELAMBU_NIK_LOOKUPS_PER_HOUR:
            record(user, "search.nik_limited", summary=f"NIK lookup refused in {where}: hourly limit reached",
                   object_type="search", object_id=where)
            raise LookupLimited
    # The summary (what the audit pages list) shows the NIK masked; the whole NIK stays in the
    # event's data, read only by administrators, as the evidence of what was looked up.
    from kelambu.lib.nik import mask_nik

    record(user, "search.nik", summary=f"NIK lookup in {where}: {mask_nik(nik)}",
           object_type="search", object_id=where, data={"nik": nik})


# --- programs and sponsors ---------------------------------------------------------------

def programs_visible_to(user):
    """Admins: all; regency operators and BPJS officers: the programs of their region; a
    sponsor's officers: the programs their sponsor funds or is asked to fund; anyone else:
    none."""
    from kelambu.programs.models import Program, ProgramSponsor
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role == Role.ADMIN:
        return Program.objects.all()
    if role in (Role.REGENCY_OPERATOR, Role.BPJS_OFFICER) and user.region_id:
        return Program.objects.filter(prefix_range("region", user.region_id))
    if role == Role.CSR_OFFICER and user.sponsor_id:
        return Program.objects.filter(pk__in=ProgramSponsor.objects.filter(
            sponsor_id=user.sponsor_id).values("program_id"))
    return Program.objects.none()


def can_see_programs(user) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role in (Role.REGENCY_OPERATOR, Role.BPJS_OFFICER):
        return bool(user.region_id)
    return role == Role.CSR_OFFICER and bool(user.sponsor_id)


def can_manage_program(user, program=None) -> bool:
    """Admins, and regency operators for programs of their regency (program None: whether
    they may create one)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.REGENCY_OPERATOR and bool(user.region_id) and (
        program is None or _within(program.region_id, user.region_id))


def can_commit_sponsor(user, sponsor) -> bool:
    """Whether a user commits this sponsor's money by putting it into a program: the
    sponsor's own officers; for a government sponsor (APBD, APBDes) a regency operator of
    its region; administrators. Anyone else only asks, and the sponsor accepts or not."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role == Role.CSR_OFFICER:
        return bool(user.sponsor_id) and user.sponsor_id == sponsor.pk
    if role == Role.REGENCY_OPERATOR and user.region_id and sponsor.kind in GOVERNMENT_SPONSOR_KINDS:
        return _within(sponsor.region_id, user.region_id)
    return False


def can_create_sponsor(user, kind: str, region: str | None) -> bool:
    """Administrators create any sponsor (with its officers, in Administration); a regency
    operator only a government sponsor of its own region."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return (role == Role.REGENCY_OPERATOR and bool(user.region_id) and kind in GOVERNMENT_SPONSOR_KINDS
            and _within(region, user.region_id))


def envelope_requests(user):
    """The funding requests (ProgramSponsor) a user answers: a company's officers those to
    their sponsor; a regency operator those to a government sponsor of their regency (the
    same rule as can_commit_sponsor); administrators all."""
    from kelambu.programs.models import ProgramSponsor
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role == Role.ADMIN:
        return ProgramSponsor.objects.all()
    sponsor = sponsor_id_of(user)
    if sponsor:
        return ProgramSponsor.objects.filter(sponsor_id=sponsor)
    if role == Role.REGENCY_OPERATOR and user.region_id:
        return ProgramSponsor.objects.filter(prefix_range("sponsor__region", user.region_id),
                                             sponsor__kind__in=GOVERNMENT_SPONSOR_KINDS)
    return ProgramSponsor.objects.none()


def can_answer_funding(user) -> bool:
    role = role_of(user)
    return role == Role.ADMIN or bool(sponsor_id_of(user)) or (role == Role.REGENCY_OPERATOR and bool(user.region_id))


def member_scope(user) -> Q:
    """Within a program the user sees: a company sees only the members it pays for (an
    officer without a sponsor, none)."""
    if role_of(user) == Role.CSR_OFFICER:
        return Q(sponsor_id=user.sponsor_id) if user.sponsor_id else Q(pk__in=[])
    return Q()


# --- deduplication -----------------------------------------------------------------------

# Regency operators run it over their regency; village operators may also review pairs in
# their village (they know the people). Decisions write the registry.
DEDUP_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR}
REVIEW_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR}


def can_dedup(user) -> bool:
    role = role_of(user)
    return role in DEDUP_ROLES and (role == Role.ADMIN or bool(user.region_id))


def can_review(user) -> bool:
    role = role_of(user)
    return role in REVIEW_ROLES and (role == Role.ADMIN or bool(user.region_id))


def dedup_run_region(actor, region: str | None) -> str:
    """The region prefix a deduplication run by `actor` covers ("" = everyone); raises
    PermissionDenied. A string actor is the system (the CLI without --user): everyone."""
    from django.utils.translation import gettext as _

    if is_system(actor):
        return (region or "").strip()
    if not can_dedup(actor):
        raise PermissionDenied(_("You may not run deduplication."))
    own = region_prefix(actor)
    region = (region or "").strip()
    if own is None:  # admin
        return region
    if region and not _within(region, own):
        raise PermissionDenied(_("Region %(region)s is outside your area %(own)s.") % {"region": region, "own": own})
    return region or own


def dedup_runs_visible_to(user):
    """Admins see every run; region-scoped reviewers the runs inside their region."""
    from kelambu.dedup.models import MatchRun
    from kelambu.registry.models import prefix_range

    if not can_review(user):
        return MatchRun.objects.none()
    own = region_prefix(user)
    if own is None:
        return MatchRun.objects.all()
    return MatchRun.objects.filter(prefix_range("region", own))


def pairs_visible_to(user):
    """Pairs whose two people the user may both see."""
    from kelambu.dedup.models import Pair
    from kelambu.registry.models import Person

    if not can_review(user):
        return Pair.objects.none()
    visible = Person.objects.visible_to(user).values("pk")
    return Pair.objects.filter(person_a__in=visible, person_b__in=visible)


def merges_visible_to(user):
    """Merges whose two people the user may both see."""
    from kelambu.dedup.models import Merge
    from kelambu.registry.models import Person

    if not can_review(user):
        return Merge.objects.none()
    visible = Person.objects.visible_to(user).values("pk")
    return Merge.objects.filter(survivor__in=visible, absorbed__in=visible)
