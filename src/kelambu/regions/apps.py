from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "kelambu.regions"
    label = "regions"
