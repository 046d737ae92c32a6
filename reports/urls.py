from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/<int:pk>/", views.campaign_report, name="campaign"),
    path("campaigns/<int:pk>/download", views.campaign_download, name="download"),
]
