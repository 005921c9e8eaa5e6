"""Logging in and out, and changing one's password."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("masuk/", auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True),
         name="login"),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("akun/sandi/", views.PasswordChangeView.as_view(), name="password_change"),
    path("akun/sandi/selesai/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
