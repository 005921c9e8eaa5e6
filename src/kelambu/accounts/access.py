"""What each user may see and do. Every read of people and every write asks here.

Roles (accounts.models.Role) and scopes:
- admin: everything.
- regency operator (Dinsos, Disnakertrans, DPMD): people living in their regency.
- village operator: people living in their village.
- BPJS branch officer: people living in the regencies of their branch (a regency or a province).
- CSR officer: people their company's lists named (and, later, the people it funds).
- public viewer: no person at all, only aggregates.
"""

from django.db.models import Q

from .models import Role

# Roles that see a whole NIK; the others see it masked.
NIK_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR, Role.BPJS_OFFICER}
# Roles that may import lists and correct people.
WRITE_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR, Role.CSR_OFFICER}
# Roles whose scope is a region prefix.
REGION_ROLES = {Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR, Role.BPJS_OFFICER}


def role_of(user) -> str | None:
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


def person_scope(user) -> Q | None:
    """The filter on Person for this user; None means no person may be seen."""
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role == Role.ADMIN:
        return Q()
    if role in REGION_ROLES:
        # A region-scoped account without a region sees nothing rather than everything.
        return prefix_range("village_id", user.region_id) if user.region_id else None
    if role == Role.CSR_OFFICER and user.sponsor_name:
        from django.db.models import Exists, OuterRef

        from kelambu.registry.models import SourceRecord

        # Exists, not a join: a person named by several of the company's lists is one row.
        named = SourceRecord.objects.filter(
            person=OuterRef("pk"), batch__source="sponsor", batch__sponsor_name=user.sponsor_name
        )
        return Q(Exists(named))
    return None


def can_see_people(user) -> bool:
    return person_scope(user) is not None


def can_see_nik(user) -> bool:
    return role_of(user) in NIK_ROLES


def can_write(user) -> bool:
    role = role_of(user)
    if role not in WRITE_ROLES:
        return False
    if role in REGION_ROLES and not user.region_id:
        return False
    if role == Role.CSR_OFFICER and not user.sponsor_name:
        return False
    return True


def batch_scope(user) -> Q | None:
    """Import batches a user may see: admins all; region-scoped users those imported by
    anyone scoped inside their region; others their own."""
    from kelambu.registry.models import prefix_range

    role = role_of(user)
    if role is None or role == Role.PUBLIC:
        return None
    if role == Role.ADMIN:
        return Q()
    if role in (Role.REGENCY_OPERATOR, Role.BPJS_OFFICER) and user.region_id:
        return prefix_range("created_by__region_id", user.region_id) | Q(created_by=user)
    return Q(created_by=user)


# Deduplication: regency operators run it over their regency; village operators may also
# review pairs in their village (they know the people). Decisions write the registry.
DEDUP_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR}
REVIEW_ROLES = {Role.ADMIN, Role.REGENCY_OPERATOR, Role.VILLAGE_OPERATOR}


def can_dedup(user) -> bool:
    role = role_of(user)
    return role in DEDUP_ROLES and (role == Role.ADMIN or bool(user.region_id))


def can_review(user) -> bool:
    role = role_of(user)
    return role in REVIEW_ROLES and (role == Role.ADMIN or bool(user.region_id))
