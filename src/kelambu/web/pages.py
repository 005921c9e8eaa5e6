"""What the pages of every stage share: the interface language, the page size, numbers,
downloads, error messages and safe redirects."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.formats import number_format
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _

PAGE_SIZE = 50


def lang() -> str:
    """The interface language as the catalogues of lib/ know it: "id" or "en"."""
    return "en" if (get_language() or "id").startswith("en") else "id"


def number(value) -> str:
    """A whole number with the language's thousands separator (12.451 in Indonesian)."""
    return number_format(value or 0, force_grouping=True)


def attachment(body, content_type: str, filename: str) -> HttpResponse:
    """A download, its file name put in the header safely (no quote or newline can end it)."""
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def safe_next(request, fallback: str) -> str:
    """The POSTed `next` if it stays on this site, else `fallback`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback
