from django.contrib import admin

from .models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Batches are made by imports only; the admin shows them."""

    list_display = ("id", "file_name", "source", "status", "rows", "accepted", "rejected", "created_by", "created_at")
    list_filter = ("source", "status", "dry_run")
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False
