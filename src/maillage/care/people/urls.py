from django.urls import path

from maillage.care.people import views

app_name = "people"
urlpatterns = [
    path("<int:pk>/donnees.json", views.access_request_view, name="access_request"),
    path("<int:pk>/effacer/", views.erase_view, name="erase"),
    path("doublons/", views.duplicates_view, name="duplicates"),
    path("doublons/<int:pk>/", views.duplicate_view, name="duplicate"),
]
