from django.urls import path

from core.job_views import job_action_urls
from generation import views

app_name = "generation"
urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("outputs/upload/", views.outputs_upload, name="outputs_upload"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    *job_action_urls("jobs/", name="job", actions=views.JOB_ACTIONS),  # status.json, cancel/, retry/
    path("jobs/<int:pk>/export.jsonl", views.job_export, name="job_export"),
]
