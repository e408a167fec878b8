from django.urls import path

from apps.tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.desk, name="desk"),
    path("trades/ticket/", views.ticket, name="ticket"),
    path("trades/rows/<slug:kind>/", views.rule_row, name="rule-row"),
    path("trades/symbols/", views.symbols, name="symbols"),
    path("trades/<int:pk>/", views.trade_detail, name="detail"),
    path("trades/<int:pk>/chart.json", views.trade_chart, name="chart"),
]
