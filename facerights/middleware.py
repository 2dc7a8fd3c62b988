"""Response headers every page carries."""

from __future__ import annotations

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
