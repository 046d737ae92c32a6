from django.urls import path

from annotate.recruiting import researcher_views, views

app_name = "recruiting"
urlpatterns = [
    path("join/i/<str:token>/", views.invite, name="invite"),
    path("join/p/<str:entry_token>/", views.external_entry, name="external"),
    path("join/<int:campaign_id>/", views.step, name="step"),
    path("join/<int:campaign_id>/consent", views.consent, name="consent"),
    path("join/<int:campaign_id>/practice", views.practice, name="practice"),
    path("join/<int:campaign_id>/practice/<int:item_id>", views.feedback, name="feedback"),
    path("join/<int:campaign_id>/practice/review", views.review, name="review"),
    path("join/<int:campaign_id>/finish", views.finish, name="finish"),
    path("campaigns/<int:pk>/recruiting/", researcher_views.manage, name="manage"),
]
