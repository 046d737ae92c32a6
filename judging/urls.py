from django.urls import path

from core.job_views import job_action_urls
from judging import views

app_name = "judging"
urlpatterns = [
    path("campaigns/<int:pk>/", views.campaign_judging, name="campaign"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    *job_action_urls("runs/", name="run", actions=views.RUN_ACTIONS),  # status.json, cancel/, retry/
]
