from django.urls import include, path

urlpatterns = [
    path("", include("kelambu.web.urls")),
]
