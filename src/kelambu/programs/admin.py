from django.contrib import admin

from .models import ProgramSponsor, Sponsor


class OfficerInline(admin.TabularInline):
    """A sponsor's officers: the accounts that act for it (file its lists, accept its
    funding requests, see the members it pays for)."""

    from kelambu.accounts.models import User

    model = User
    fk_name = "sponsor"
    fields = ("username", "first_name", "last_name", "role", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Sponsor)
class SponsorAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region", "legal_basis", "legal_number")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("region",)
    inlines = [OfficerInline]


@admin.register(ProgramSponsor)
class ProgramSponsorAdmin(admin.ModelAdmin):
    """Envelopes are read here; they are accepted or declined by the sponsor's officers in
    the application (programs.services.decide_envelope), so the decision is audited."""

    list_display = ("program", "sponsor", "year", "budget", "status", "decided_by", "decided_at")
    list_filter = ("status", "year")
    readonly_fields = ("status", "requested_by", "decided_by", "decided_at", "decision_note")

    def has_add_permission(self, request):
        return False
