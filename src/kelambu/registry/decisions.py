"""Held rows and proposed corrections, decided by the region that owns the person.

An import never changes a person its importer may not change, nor adds a person its
importer may not add (accounts.access.import_policy): such a row is staged as `held`, with a
Hold saying why and which region decides. A company's officers never change a person at
all; they may propose a correction of a member they pay for (Proposal). Both wait here for a
regency operator of the person's region (or an administrator), who confirms or declines;
every decision is audited, with the values before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kelambu.accounts import access
from kelambu.audit.services import record as audit

from .models import (
    DecisionStatus,
    Hold,
    HoldReason,
    Household,
    Person,
    Proposal,
    Source,
    SourceRecord,
)

# The values a held row gives its person, as promotion gives them (registry.services).
ROW_VALUES = ["kk", "sex", "birth_date", "address", "village_id", "phone", "occupation", "category"]


def holds_for(user):
    scope = access.decision_scope(user)
    return Hold.objects.none() if scope is None else Hold.objects.filter(scope)


def proposals_for(user):
    scope = access.decision_scope(user)
    return Proposal.objects.none() if scope is None else Proposal.objects.filter(scope)


def _survivor(person: Person | None) -> Person | None:
    if person is not None and person.merged_into_id:
        return Person.objects.filter(pk=person.merged_into_id).first() or person
    return person


def _household(kk: str | None, village: str | None) -> Household | None:
    if not kk:
        return None
    household, _created = Household.objects.get_or_create(kk=kk, defaults={"village_id": village})
    return household


def _apply_row(person: Person, row: SourceRecord) -> dict:
    """The held row's values onto its person, as an import's promotion would have given them
    (the newest list's values win where it has them); returns the changes."""
    changes = {}
    new = {"name": row.name, **{f: getattr(row, f) for f in ROW_VALUES if getattr(row, f) is not None}}
    if row.name_norm:
        new["name_norm"] = row.name_norm
    if row.decile is not None:
        new["decile"], new["decile_scale"] = row.decile, row.batch.decile_scale
    if row.kk:
        household = _household(row.kk, row.village_id)
        new["household_id"] = household.pk if household else person.household_id
    for key, value in new.items():
        if getattr(person, key) != value:
            changes[key] = [_text(getattr(person, key)), _text(value)]
            setattr(person, key, value)
    person.last_batch_id = row.batch_id
    person.updated_at = timezone.now()
    person.save()
    return changes


def _new_person(row: SourceRecord) -> Person:
    household = _household(row.kk, row.village_id)
    now = timezone.now()
    return Person.objects.create(
        nik=row.nik, kk=row.kk, household=household, name=row.name, name_norm=row.name_norm or "",
        sex=row.sex, birth_date=row.birth_date, address=row.address, village_id=row.village_id, phone=row.phone,
        occupation=row.occupation, category=row.category, decile=row.decile,
        decile_scale=row.batch.decile_scale if row.decile is not None else None, last_batch_id=row.batch_id,
        created_at=now, updated_at=now,
    )


def _text(value):
    return None if value is None else str(value)


@dataclass
class Outcome:
    decided: int = 0
    errors: list[str] = field(default_factory=list)


def decide_hold(hold: Hold, actor, *, confirm: bool, note: str = "") -> None:
    """Confirms (the row takes effect: the person moves, or a new person is added) or
    declines (nothing changes; the row stays held) one held row. Raises PermissionDenied
    outside the decider's region, ValidationError when the hold can no longer be applied."""
    if not holds_for(actor).filter(pk=hold.pk).exists():
        raise PermissionDenied(_("You may not decide this row."))
    with transaction.atomic():
        hold = Hold.objects.select_for_update().select_related("record", "record__batch").get(pk=hold.pk)
        if hold.status != DecisionStatus.PENDING:
            raise ValidationError(_("This row was already decided."))
        row = hold.record
        data = {"batch": row.batch_id, "row": row.row, "reason": hold.reason, "note": note}
        if confirm:
            link_only = row.batch.source == Source.SPONSOR
            person = _survivor(hold.person)
            if person is None and row.nik:
                person = _survivor(Person.objects.filter(nik=row.nik).first())
            if person is not None:
                if not access.can_change_person(actor, person) and not link_only:
                    raise ValidationError(_("The person no longer lives in your area; the region they live in now "
                                            "decides."))
                data["changes"] = {} if link_only else _apply_row(person, row)
            else:
                if hold.reason == HoldReason.OTHER_REGION:
                    raise ValidationError(_("The person this row matched is no longer in the registry."))
                person = _new_person(row)
                data["new_person"] = person.pk
            SourceRecord.objects.filter(pk=row.pk).update(person=person, status="accepted")
            data["person"] = person.pk
        hold.record_decision(actor, confirm, note)
        audit(actor, "hold.confirm" if confirm else "hold.decline", hold,
              summary=f"batch #{row.batch_id} row {row.row} ({hold.reason}): "
                      + ("confirmed" if confirm else "declined") + (f" ({note})" if note else ""), data=data)


def decide_holds(holds, actor, *, confirm: bool, note: str = "") -> Outcome:
    """Every pending hold of `holds` the actor may decide, one by one (a held row is an
    exception, not a bulk path); the errors say which rows could not be applied."""
    outcome = Outcome()
    for hold in holds_for(actor).filter(pk__in=holds.values("pk"), status=DecisionStatus.PENDING).order_by("pk"):
        try:
            decide_hold(hold, actor, confirm=confirm, note=note)
        except ValidationError as exc:
            outcome.errors.append(f"#{hold.record.batch_id}/{hold.record.row}: {' '.join(exc.messages)}")
        else:
            outcome.decided += 1
    return outcome


# --- proposed corrections ----------------------------------------------------------------

PROPOSABLE = ("name", "address", "phone")


def propose_correction(person: Person, actor, changes: dict, reason: str) -> Proposal:
    """A correction proposed by a company's officer for a member it pays for: stored for the
    person's region, changing nothing."""
    if not access.can_propose(actor, person):
        raise PermissionDenied(_("You may not propose a correction for this person."))
    changes = {k: v.strip() for k, v in changes.items() if k in PROPOSABLE and (v or "").strip()}
    if not changes:
        raise ValidationError(_("Give at least one corrected value."))
    if not (reason or "").strip():
        raise ValidationError(_("Say why the correction is needed."))
    with transaction.atomic():
        proposal = Proposal.objects.create(person=person, proposed_by=actor, changes=changes, reason=reason.strip()[:300],
                                           owner_region=person.village_id or "")
        audit(actor, "proposal.create", proposal, summary=f"correction proposed for person #{person.pk}",
              data={"person": person.pk, "fields": sorted(changes)})
    return proposal


def decide_proposal(proposal: Proposal, actor, *, accept: bool, note: str = ""):
    """Accepting applies the correction through registry.services.correct_person (checked
    like any correction, audited with before and after); returns its result, whose `errors`
    keep the proposal pending."""
    from .services import PersonCorrection, correct_person

    if not proposals_for(actor).filter(pk=proposal.pk).exists():
        raise PermissionDenied(_("You may not decide this proposal."))
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().select_related("person").get(pk=proposal.pk)
        if proposal.status != DecisionStatus.PENDING:
            raise ValidationError(_("This proposal was already decided."))
        result = None
        if accept:
            p = proposal.person
            current = {"name": p.name, "address": p.address or "", "village": p.village_id or "",
                       "phone": p.phone or "", "category": p.category or "", "occupation": p.occupation or ""}
            current.update(proposal.changes)
            result = correct_person(p, PersonCorrection(**current),
                                    f"proposal #{proposal.pk} by {proposal.proposed_by.get_username()}: {proposal.reason}",
                                    actor)
            if result.errors:
                return result
        proposal.record_decision(actor, accept, note)
        audit(actor, "proposal.accept" if accept else "proposal.decline", proposal,
              summary=f"proposal #{proposal.pk} for person #{proposal.person_id}: "
                      + ("accepted" if accept else "declined"), data={"note": note})
    return result


def pending_counts(user) -> dict:
    """What waits for this user's decision (for the menu and home page)."""
    return {"holds": holds_for(user).filter(status=DecisionStatus.PENDING).count(),
            "proposals": proposals_for(user).filter(status=DecisionStatus.PENDING).count()}
