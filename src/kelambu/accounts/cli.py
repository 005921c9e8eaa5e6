"""Who a console command acts as: a Kelambu user (--user NAME: their scope, their name in
the audit log) or, without one, the system job run by whoever is logged in on the server."""

import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def command_actor(username: str | None):
    if not username:
        return f"cli:{getpass.getuser()}"
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No such user / pengguna tidak ada: {username}") from None
