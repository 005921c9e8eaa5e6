"""Programs, their allocations, memberships and the BPJS exchange; sponsors' funding requests
(mounted at /program/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("permintaan/", views.funding_requests, name="funding_requests"),
    path("permintaan/<int:pk>/", views.funding_decide, name="funding_decide"),
    path("<int:pk>/", views.program_detail, name="program_detail"),
    path("<int:pk>/alokasi/", views.program_allocate, name="program_allocate"),
    path("<int:pk>/alokasi/proses/<str:token>/", views.program_progress, name="program_progress"),
    path("<int:pk>/alokasi/proses/<str:token>/status.json", views.program_status,
         name="program_status"),
    path("<int:pk>/alokasi/<int:run_id>/", views.run_outcomes, name="program_run"),
    path("<int:pk>/berkas-bpjs/", views.program_export, name="program_export"),
    path("<int:pk>/jawaban-bpjs/", views.program_answer, name="program_answer"),
    path("<int:pk>/peserta/", views.membership_list, name="program_members"),
    path("<int:pk>/peserta/<int:member_id>/akhiri/", views.membership_end,
         name="program_member_end"),
    path("<int:pk>/peserta/<int:member_id>/usul/", views.membership_propose,
         name="program_member_propose"),
]
