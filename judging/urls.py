from django.urls import path

from judging import views

app_name = "judging"
urlpatterns = [
    path("campaigns/<int:pk>/", views.campaign_judging, name="campaign"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/status.json", views.run_status, name="run_status"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/retry/", views.run_retry, name="run_retry"),
]
