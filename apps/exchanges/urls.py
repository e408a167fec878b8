from django.urls import path

from apps.exchanges import views

app_name = "exchanges"

urlpatterns = [
    path("", views.account_list, name="account-list"),
    path("new/", views.account_create, name="account-create"),
    path("portfolio/", views.portfolio_panel, name="portfolio"),
    path("<int:pk>/", views.account_detail, name="account-detail"),
    path("<int:pk>/test/", views.account_test, name="account-test"),
    path("<int:pk>/preview/", views.account_preview, name="account-preview"),
]
