from django.urls import path

from core.placeholder import researcher_placeholder

app_name = "generation"
urlpatterns = [
    path("models/", researcher_placeholder, name="model_list"),
    path("jobs/", researcher_placeholder, name="job_list"),
]
