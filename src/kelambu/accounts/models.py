from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    REGENCY_OPERATOR = "regency_operator", _("Regency operator")
    VILLAGE_OPERATOR = "village_operator", _("Village operator")
    CSR_OFFICER = "csr_officer", _("CSR officer")
    BPJS_OFFICER = "bpjs_officer", _("BPJS branch officer")
    PUBLIC = "public", _("Public viewer")


class User(AbstractUser):
    """A person using Kelambu. What they may see is their role within their scope.

    `region` scopes regency operators (a regency), village operators (a village) and
    BPJS branch officers (the regencies of their branch: a regency or a province);
    `sponsor` makes a CSR officer one of that company's officers: they file its lists, answer
    its funding requests and see the members it pays for (accounts/access.py).
    """

    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.PUBLIC)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # A sponsor is an entity (programs.Sponsor), never a typed name: only its officers act for it.
    sponsor = models.ForeignKey(
        "programs.Sponsor", verbose_name=_("sponsor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="officers",
    )
    office = models.CharField(_("office"), max_length=200, blank=True, help_text=_("Dinsos, DPMD, BPJS branch, company..."))

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
