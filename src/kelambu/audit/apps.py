from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kelambu.audit"
    label = "audit"
