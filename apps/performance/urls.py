from django.urls import path

from apps.performance import views

app_name = "performance"

urlpatterns = [
    # Named like its nav key, so the main navigation marks Performance as current.
    path("", views.performance, name="performance"),
    path("csv", views.performance_csv, name="csv"),
]
