from django.urls import path

from maillage.exports import views

app_name = "exports"
urlpatterns = [
    path("<slug:kind>/<str:token>.json", views.status, name="status"),
]
