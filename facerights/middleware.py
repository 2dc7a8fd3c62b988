"""Response headers every page carries, and the API's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

# Scripts only from our own files: no inline script, no CDN. Inline style
# attributes stay allowed (the admin uses them); they cannot run code.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The portal never uses a camera: sign-in and every right work without a face (Measures Art 10).
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", PERMISSIONS)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            # Personal pages are never kept by a browser or a proxy.
            response.setdefault("Cache-Control", "no-store")
        return response


class ApiLanguageMiddleware:
    """The API answers in the language its caller's Accept-Language names, and in English without one.

    Machines read the API: they send no cookie and expect a stable default, so neither the
    portal's language cookie nor its Chinese default applies under /api/. Runs after
    LocaleMiddleware, which it overrides for those paths only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            language = api_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def api_language(header: str) -> str:
    """The first supported language the header accepts, in its order of preference; else English."""
    for accepted, _quality in parse_accept_lang_header(header):
        if accepted == "*":
            break
        try:
            return get_supported_language_variant(accepted)
        except LookupError:
            continue
    return "en"
