from django.urls import path

from core.placeholder import researcher_placeholder

app_name = "eval_sets"
urlpatterns = [path("", researcher_placeholder, name="list")]
