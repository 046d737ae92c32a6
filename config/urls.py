from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.urls import api_urls
from core import views as core_views
from hub import views as hub_views

urlpatterns = [
    path("", hub_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("dashboard/", hub_views.dashboard, name="dashboard"),
    path("assets/plotly.min.js", core_views.plotly_js, name="plotly_js"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("eval-sets/", include("eval_sets.urls")),
    path("generation/", include("generation.urls")),
    path("finetune/", include("finetune.urls")),
    path("", include("annotate.urls")),  # rate/... for raters, campaigns/... for researchers
    path("", include("annotate.recruiting.urls")),  # join/... (invites, crowd entry, practice) and recruiting
    path("", include("hub.urls")),  # campaigns/<pk>/: the campaign page, with the reports' figures
    path("reports/", include("reports.urls")),
    path("judging/", include("judging.urls")),
    path("api/v1/", api_urls()),  # the HTTP API; its OpenAPI schema at /api/v1/openapi.json
    path("account/api/", include("api.urls")),  # API tokens and webhooks pages
]
