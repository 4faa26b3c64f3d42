from django.urls import path

from patron.insights import nps_views, views

urlpatterns = [
    path("models/", views.models_page, name="models"),
    path("models/<int:run_id>/", views.models_page, name="models-run"),
]

# The NPS and themes analytics, at the addresses and names ("feedback:nps", ...) they have always
# had: web/urls.py puts them in the feedback namespace.
feedback_urlpatterns = [
    path("feedback/nps/", nps_views.nps_page, name="nps"),
    path("feedback/nps/responses/", nps_views.nps_responses_page, name="nps-responses"),
    path("feedback/themes/", nps_views.themes_page, name="themes"),
]
