from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "kelambu.registry"
    label = "registry"
