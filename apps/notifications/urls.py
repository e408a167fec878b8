from django.urls import path

from apps.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("<int:pk>/", views.destination_edit, name="destination-edit"),
    path("<int:pk>/<slug:action>/", views.destination_action, name="destination-action"),
]
