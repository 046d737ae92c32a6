from django.urls import path

from core.placeholder import rater_placeholder, researcher_placeholder

app_name = "annotate"
urlpatterns = [
    path("", rater_placeholder, name="queue"),
    path("campaigns/", researcher_placeholder, name="campaign_list"),
]
