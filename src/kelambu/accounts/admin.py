from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class KelambuUserAdmin(UserAdmin):
    list_display = ("username", "role", "region", "sponsor", "office", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("region",)
    autocomplete_fields = ("sponsor",)
    fieldsets = UserAdmin.fieldsets + ((_("Role and scope"), {"fields": ("role", "region", "sponsor", "office")}),)
    add_fieldsets = UserAdmin.add_fieldsets + ((_("Role and scope"), {"fields": ("role", "region", "sponsor", "office")}),)
