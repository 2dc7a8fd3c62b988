from django.contrib import admin
from django.urls import include, path

from .admin import compliance_matrix_view
from .views import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("dataops.ops_urls")),  # /metrics
    path("admin/compliance/", admin.site.admin_view(compliance_matrix_view), name="admin_compliance_matrix"),
    path("admin/", admin.site.urls),
    path("api/", include("dataops.urls", namespace="api")),
    path("desk/", include("dataops.desk.urls", namespace="desk")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("portal.urls")),
]
