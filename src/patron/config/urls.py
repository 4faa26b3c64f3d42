from django.contrib import admin
from django.urls import include, path

from patron.config.api import api
from patron.web.health import health, healthz

# A database that cannot be reached is a 503 asking to retry, not a 500 (web/errors.py).
handler500 = "patron.web.errors.server_error"

urlpatterns = [
    path("health/", health, name="health"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("", include("patron.web.urls")),
]
