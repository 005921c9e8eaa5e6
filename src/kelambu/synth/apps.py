from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "kelambu.synth"
    label = "synth"
