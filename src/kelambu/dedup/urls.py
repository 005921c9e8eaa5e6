"""Deduplication: runs, the review queue, merges and double funding (mounted at /pemadanan/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.run_list, name="dedup_runs"),
    path("<int:pk>/", views.run_detail, name="dedup_run"),
    path("proses/<str:token>/", views.run_progress, name="dedup_progress"),
    path("proses/<str:token>/status.json", views.run_status, name="dedup_status"),
    path("tinjau/", views.queue, name="dedup_queue"),
    path("pasangan/<int:pk>/", views.pair_detail, name="dedup_pair"),
    path("penggabungan/", views.merge_list, name="dedup_merges"),
    path("penggabungan/<int:pk>/batalkan/", views.merge_undo, name="dedup_merge_undo"),
    path("pendanaan-ganda/", views.double_funding, name="dedup_funding"),
]
