from django.urls import path

from apps.positions import views

app_name = "positions"

urlpatterns = [
    path("", views.positions, name="list"),
    path("export.csv", views.positions_csv, name="csv"),
    path("orders.csv", views.orders_csv, name="orders-csv"),
    path("<int:pk>/", views.position_detail, name="detail"),
    path("<int:pk>/chart.json", views.position_chart, name="chart"),
    path("<int:pk>/close/", views.position_close, name="close"),
]
