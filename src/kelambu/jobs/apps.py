from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "kelambu.jobs"
    verbose_name = "Jobs"
