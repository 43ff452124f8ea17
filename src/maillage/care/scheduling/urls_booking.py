"""The booking pages: the public's under ``/rendez-vous/``, the phone operator's under
``/soins/operateur/`` (both included from :mod:`maillage.urls`)."""

from __future__ import annotations

from django.urls import path

from maillage.care.scheduling.views import operator, public

app_name = "booking"
public_urls = [
    path("", public.index, name="index"),
    path("rdv/<str:token>/", public.manage, name="manage"),
    path("rdv/<str:token>/annuler/", public.cancel, name="cancel"),
    path("rdv/<str:token>/deplacer/", public.move, name="move"),
    path("offre/<str:token>/confirmer/", public.offer, name="offer"),
    path("<slug:slug>/", public.site_slots, name="site"),
    path("<slug:slug>/<int:slot_id>/reserver/", public.book, name="book"),
    path("<slug:slug>/liste-attente/", public.join_waitlist, name="waitlist"),
]
operator_urls = [
    path("", operator.home, name="operator"),
    path("appelants/", operator.callers, name="operator-callers"),
    path("creneaux/<int:slot_id>/reserver/", operator.book, name="operator-book"),
    path("rdv/<int:booking_id>/", operator.booking_page, name="operator-booking"),
    path("rdv/<int:booking_id>/annuler/", operator.cancel, name="operator-cancel"),
    path("rdv/<int:booking_id>/deplacer/", operator.move, name="operator-move"),
    path("rdv/<int:booking_id>/presence/", operator.mark, name="operator-mark"),
]
urlpatterns = [
    *[path("rendez-vous/" + str(p.pattern), p.callback, name=p.name) for p in public_urls],
    *[path("soins/operateur/" + str(p.pattern), p.callback, name=p.name) for p in operator_urls],
]
