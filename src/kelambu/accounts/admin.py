from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class KelambuUserAdmin(UserAdmin):
    list_display = ("username", "role", "region", "sponsor_name", "office", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("region",)
    fieldsets = UserAdmin.fieldsets + ((_("Role and scope"), {"fields": ("role", "region", "sponsor_name", "office")}),)
    add_fieldsets = UserAdmin.add_fieldsets + ((_("Role and scope"), {"fields": ("role", "region", "sponsor_name", "office")}),)
