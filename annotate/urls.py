from django.urls import path

from annotate import campaign_new_views, edit_views, views
from annotate.results import views as results_views
from core.job_views import job_action_urls

app_name = "annotate"
urlpatterns = [
    # Raters
    path("rate/", views.queue, name="queue"),
    path("rate/task/<int:campaign_id>/", views.rate_page, name="rate"),
    path("rate/task/<int:campaign_id>/next", views.api_next, name="api_next"),
    path("rate/task/<int:campaign_id>/submit", views.api_submit, name="api_submit"),
    path("rate/task/<int:campaign_id>/undo", views.api_undo, name="api_undo"),
    path("rate/task/<int:campaign_id>/skip", views.api_skip, name="api_skip"),
    # Researchers
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_new_views.campaign_new, name="campaign_new"),
    path("builds/<int:pk>/", campaign_new_views.campaign_build_detail, name="campaign_build_detail"),
    # builds/<pk>/status.json, cancel/ and retry/ (core.job_views)
    *job_action_urls("builds/", name="campaign_build", actions=campaign_new_views.BUILD_ACTIONS),
    # campaigns/<pk>/ itself (the page with statistics) is hub:campaign_detail.
    path("campaigns/<int:pk>/edit/", edit_views.campaign_edit_page, name="campaign_edit"),
    path("campaigns/<int:pk>/status", views.campaign_status, name="campaign_status"),
    path("campaigns/<int:pk>/raters", views.campaign_raters, name="campaign_raters"),
    path("campaigns/<int:pk>/gold/", views.campaign_gold, name="campaign_gold"),
    path("raters/", views.rater_list, name="rater_list"),
    # The results browser (annotate.results)
    path("campaigns/<int:pk>/results/", results_views.campaign_results, name="campaign_results"),
    path("campaigns/<int:pk>/results/comparison/", results_views.comparison_result, name="comparison_result"),
    path("campaigns/<int:pk>/results/more", results_views.comparison_more, name="comparison_request_rating"),
]
