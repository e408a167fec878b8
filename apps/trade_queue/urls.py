from django.urls import path

from apps.trade_queue import views

app_name = "trade_queue"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/export.csv", views.queue_csv, name="queue-csv"),
    path("queue/<int:pk>/promote/", views.promote, name="promote"),
    path("queue/<int:pk>/remove/", views.remove, name="remove"),
    path("queue/pool/<int:account_pk>/", views.pool_settings, name="pool-settings"),
]
