"""Bahasa Indonesia first: the language is the one the user chose (the cookie set by the
language switch), else Indonesian. The browser's Accept-Language is not consulted, since
most browsers in Indonesian offices say English.

Also the rules for shared office PCs: a login lasts at most SESSION_COOKIE_AGE (a working
day) however it is used, and no page or download for a logged-in user is kept by the
browser or a proxy."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


# When the session's user logged in (seconds since the epoch).
LOGIN_AT = "kelambu_login_at"


def _stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = int(timezone.now().timestamp())


user_logged_in.connect(_stamp_login, dispatch_uid="kelambu.web.middleware.stamp_login")


class SessionLimitMiddleware:
    """Logs a user out SESSION_COOKIE_AGE after they logged in. The session's own expiry
    moves on whenever the session is saved again; this limit does not, so a PC left logged
    in (or a browser that restores its session cookies) does not stay in past the day.
    After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            started = request.session.get(LOGIN_AT)
            if not isinstance(started, int):
                # A session from before this rule, or a login this process did not see.
                request.session[LOGIN_AT] = now
            elif now - started >= settings.SESSION_COOKIE_AGE:
                logout(request)
                hours = round(settings.SESSION_COOKIE_AGE / 3600, 1)
                messages.info(request, _("Your session ended after %(hours)s hours. Please log in again.")
                              % {"hours": f"{hours:g}"})
        return self.get_response(request)


class NoStoreMiddleware:
    """Every response to a logged-in user carries personal data or may: the browser and any
    proxy must keep no copy (Cache-Control: no-store, private; also no-cache, max-age=0 and
    an Expires in the past). Static files are served by WhiteNoise before this runs and
    stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
