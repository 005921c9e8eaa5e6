"""The registry: people, list imports, and the held rows and proposals to confirm."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("orang/", views.person_list, name="person_list"),
    path("orang/<int:pk>/", views.person_detail, name="person_detail"),
    path("orang/<int:pk>/ubah/", views.person_edit, name="person_edit"),
    path("impor/", views.batch_list, name="batch_list"),
    path("impor/baru/", views.import_new, name="import_new"),
    path("impor/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("impor/<int:pk>/status.json", views.batch_status, name="batch_status"),
    path("impor/<int:pk>/batalkan/", views.batch_cancel, name="batch_cancel"),
    path("impor/<int:pk>/laporan.json", views.batch_report, name="batch_report"),
    # Only the two formats there are: any other suffix is a 404, never a file served as .bat or .html.
    re_path(r"^impor/(?P<pk>[0-9]+)/ditolak\.(?P<fmt>csv|xlsx)$", views.batch_rejected, name="batch_rejected"),
    path("konfirmasi/", views.decisions_page, name="decisions"),
    path("konfirmasi/baris/<int:pk>/", views.hold_decide, name="hold_decide"),
    path("konfirmasi/impor/<int:pk>/", views.batch_holds_decide, name="batch_holds_decide"),
    path("konfirmasi/usulan/<int:pk>/", views.proposal_decide, name="proposal_decide"),
]
