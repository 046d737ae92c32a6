from django.urls import path

from hub import views

app_name = "hub"
urlpatterns = [
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
]
