from django.urls import path

from apps.risk import views

app_name = "risk"

urlpatterns = [
    # Named "risk" like its nav key, so the main navigation marks Risk as current.
    path("", views.risk_page, name="risk"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/run/", views.run_now, name="run"),
    path("<int:pk>/settings/", views.settings_save, name="settings"),
    path("<int:pk>/settings/reset/", views.settings_reset, name="settings-reset"),
    path("<int:pk>/kill/", views.kill, name="kill"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("groups/<int:pk>/block/", views.block, name="block"),
    path("groups/<int:pk>/skip-once/", views.skip_once, name="skip-once"),
]
