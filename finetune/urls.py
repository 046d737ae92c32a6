from django.urls import path

from core.placeholder import researcher_placeholder

app_name = "finetune"
urlpatterns = [path("", researcher_placeholder, name="job_list")]
