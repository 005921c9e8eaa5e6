from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_dedup

urlpatterns = [
    path("", views.home, name="home"),
    path("masuk/", auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
         name="login"),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("orang/", views.person_list, name="person_list"),
    path("orang/<int:pk>/", views.person_detail, name="person_detail"),
    path("orang/<int:pk>/ubah/", views.person_edit, name="person_edit"),
    path("impor/", views.batch_list, name="batch_list"),
    path("impor/baru/", views.import_new, name="import_new"),
    path("impor/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("impor/<int:pk>/status.json", views.batch_status, name="batch_status"),
    path("impor/<int:pk>/laporan.json", views.batch_report, name="batch_report"),
    path("impor/<int:pk>/ditolak.<str:fmt>", views.batch_rejected, name="batch_rejected"),
    path("wilayah/", views.regions_summary, name="regions_summary"),
    path("pemadanan/", views_dedup.run_list, name="dedup_runs"),
    path("pemadanan/<int:pk>/", views_dedup.run_detail, name="dedup_run"),
    path("pemadanan/proses/<str:token>/", views_dedup.run_progress, name="dedup_progress"),
    path("pemadanan/proses/<str:token>/status.json", views_dedup.run_status, name="dedup_status"),
    path("pemadanan/tinjau/", views_dedup.queue, name="dedup_queue"),
    path("pemadanan/pasangan/<int:pk>/", views_dedup.pair_detail, name="dedup_pair"),
    path("pemadanan/penggabungan/", views_dedup.merge_list, name="dedup_merges"),
    path("pemadanan/penggabungan/<int:pk>/batalkan/", views_dedup.merge_undo, name="dedup_merge_undo"),
    path("pemadanan/pendanaan-ganda/", views_dedup.double_funding, name="dedup_funding"),
]
