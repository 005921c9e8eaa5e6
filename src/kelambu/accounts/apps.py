from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kelambu.accounts"
    label = "accounts"
