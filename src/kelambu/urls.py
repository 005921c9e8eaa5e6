"""Every route: the shell, then each stage's app. URL names are global (reverse("program_list")),
and every one has an entry in the scope matrix (web/tests/test_scope_matrix.py)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("kelambu.web.urls")),
    path("", include("kelambu.accounts.urls")),
    path("", include("kelambu.registry.urls")),
    path("pemadanan/", include("kelambu.dedup.urls")),
    path("program/", include("kelambu.programs.urls")),
]
