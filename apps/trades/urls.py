from django.urls import path

from apps.trades import views

app_name = "trades"

urlpatterns = [
    path("", views.desk, name="desk"),
    path("trades/ticket/", views.ticket, name="ticket"),
    path("trades/rows/<slug:kind>/", views.rule_row, name="rule-row"),
    path("trades/symbols/", views.symbols, name="symbols"),
    path("trades/<int:pk>/", views.trade_detail, name="detail"),
    path("positions/", views.positions, name="positions"),
    path("positions/export.csv", views.positions_csv, name="positions-csv"),
    path("positions/orders.csv", views.orders_csv, name="positions-orders-csv"),
    path("positions/<int:pk>/", views.position_detail, name="position"),
    path("positions/<int:pk>/close/", views.position_close, name="position-close"),
]
