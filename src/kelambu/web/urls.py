"""The shell: home and the figures per regency. Each stage's routes are in its app's urls.py
(kelambu/urls.py mounts them)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("wilayah/", views.regions_summary, name="regions_summary"),
]
