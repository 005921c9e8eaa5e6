from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

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
]
