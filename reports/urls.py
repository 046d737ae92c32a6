from django.urls import path

from core.placeholder import researcher_placeholder

app_name = "reports"
urlpatterns = [path("", researcher_placeholder, name="index")]
