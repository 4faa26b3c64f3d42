from django.urls import path

from patron.insights import views

urlpatterns = [
    path("models/", views.models_page, name="models"),
    path("models/<int:run_id>/", views.models_page, name="models-run"),
]
