from django.urls import path

from eval_sets import views

app_name = "eval_sets"
urlpatterns = [
    path("", views.eval_set_list, name="list"),
    path("upload/", views.eval_set_upload, name="upload"),
    path("<int:pk>/", views.eval_set_detail, name="detail"),
    path("<int:pk>/export.jsonl", views.eval_set_download, name="export"),
]
