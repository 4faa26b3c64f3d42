from django.urls import path

from patron.campaigns import report_views, uplift_views, views

urlpatterns = [
    path("", views.segment_list, name="segment-list"),
    path("new/", views.segment_new, name="segment-new"),
    path("preview/", views.segment_preview, name="segment-preview"),
    path("<int:pk>/", views.segment_edit, name="segment-edit"),
    path("<int:pk>/delete/", views.segment_remove, name="segment-delete"),
    path("<int:pk>/customers/", views.segment_members, name="segment-customers"),
    path("<int:pk>/uplift/", uplift_views.segment_uplift_page, name="segment-uplift"),
]

# A launched campaign's report, under /campaigns/ (web/urls.py mounts these there).
report_urlpatterns = [
    path("<int:pk>/report/", report_views.campaign_report_page, name="campaign-report"),
]
