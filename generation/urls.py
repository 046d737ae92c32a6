from django.urls import path

from generation import views

app_name = "generation"
urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("outputs/upload/", views.outputs_upload, name="outputs_upload"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/status.json", views.job_status, name="job_status"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:pk>/export.jsonl", views.job_export, name="job_export"),
]
