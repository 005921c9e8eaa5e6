from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kelambu.web"
    label = "web"
