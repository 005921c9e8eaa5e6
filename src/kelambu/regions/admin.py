from django.contrib import admin

from .models import RegencySplit, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "kind", "postal_code")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(RegencySplit)
class RegencySplitAdmin(admin.ModelAdmin):
    list_display = ("child", "parent", "year", "legal_basis")
    # Two selects of every region in Indonesia took the change page twenty seconds to render.
    autocomplete_fields = ("child", "parent")
