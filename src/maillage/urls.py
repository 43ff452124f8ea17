from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("maillage.accounts.urls")),
    path("annuaire/", include("maillage.directory.urls_public")),
    path("pro/", include("maillage.directory.urls_pro")),
    path("api/", include("maillage.directory.urls_api")),
    path("fhir/", include("maillage.directory.urls_fhir")),
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
    path("", include("maillage.observatory.urls")),
]

handler500 = "maillage.web.errors.server_error"  # a locked database: 503, réessayez
