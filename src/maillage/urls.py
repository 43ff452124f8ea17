from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from maillage.care.register import urls as register_urls
from maillage.care.scheduling import urls as scheduling_urls
from maillage.directory import urls as directory_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("maillage.accounts.urls")),
    path("annuaire/", include(directory_urls.public_urls)),
    path("pro/mes-patients/", include(scheduling_urls.gp_urls)),  # the GP's, in the pro space
    path("pro/", include(directory_urls.pro_urls)),
    path("api/", include("maillage.api_urls")),
    path("agendas/", include(scheduling_urls.calendar_urls)),
    path("fhir/", include("maillage.care.scheduling.fhir.urls")),
    path("fhir/", include("maillage.directory.fhir.urls")),
    path("soins/", include(scheduling_urls.staff_urls)),
    path("soins-non-programmes/", include(scheduling_urls.finder_urls)),
    path("exports/", include("maillage.exports.urls")),
    path("soins/personnes/", include("maillage.care.people.urls")),
    path("soins/registre/", include("maillage.care.register.urls")),
    path("registre/", include(register_urls.public_urls)),  # the public request
    path("", include("maillage.care.attachment.urls")),  # /medecin-traitant/, /soins/medecin-…
    path("", include("maillage.care.letters.urls")),  # /soins/sorties/, /pro/lettres-de-sortie/
    path("", include(scheduling_urls.booking_urls)),  # /rendez-vous/, /soins/operateur/
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
    path("", include("maillage.observatory.urls")),
]

handler400 = "maillage.web.errors.bad_request"
handler403 = "maillage.web.errors.permission_denied"
handler404 = "maillage.web.errors.page_not_found"
handler500 = "maillage.web.errors.server_error"  # a locked database: 503, réessayez
