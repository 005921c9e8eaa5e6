from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("Province")
    REGENCY = 2, _("Regency/city")
    DISTRICT = 3, _("District")
    VILLAGE = 4, _("Village")


class Region(models.Model):
    """One node of the Kemendagri region tree; the dotted code is the key (16.06.01.2001)."""

    code = models.CharField(_("code"), max_length=13, primary_key=True)
    name = models.CharField(_("name"), max_length=120)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    # kabupaten, kota, kecamatan, distrik, desa, kelurahan, desa_adat, provinsi
    kind = models.CharField(_("kind"), max_length=16)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    postal_code = models.CharField(_("postal code"), max_length=5, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def regency_code(self) -> str | None:
        return self.code[:5] if self.level >= Level.REGENCY else None


class RegencySplit(models.Model):
    """A regency formed from another. NIKs issued before the split keep the parent's code
    (REFERENCE 6), so a parent-coded NIK in the child is expected, not a warning."""

    child = models.OneToOneField(Region, on_delete=models.CASCADE, related_name="split_from")
    parent = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="split_children")
    year = models.PositiveSmallIntegerField()
    legal_basis = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.child_id} from {self.parent_id} ({self.year})"
