"""A user's own account: changing the password (audited), and the page shown when logins
are locked after too many failures (django-axes calls `locked_out`, settings.AXES_*)."""

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kelambu.audit.services import record


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form in the site's words ("kata sandi", as on the login page)."""

    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_incorrect": _("Your current password is not right. Enter it again."),
        "password_mismatch": _("The two new passwords are not the same."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Current password")
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")
        self.fields["new_password2"].help_text = _("Type the same new password again, to check it.")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        # The event exists exactly when the change does; it never holds the password.
        with transaction.atomic():
            response = super().form_valid(form)
            user = form.user
            record(user, "user.password_change", user,
                   summary=f"{user.get_username()} changed their own password")
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


def locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: too many failed logins for this account or from this address."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    return render(request, "accounts/locked.html", {"minutes": minutes},
                  status=settings.AXES_HTTP_RESPONSE_CODE)
