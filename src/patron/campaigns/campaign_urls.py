from django.urls import path

from patron.campaigns import campaign_views as views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_new, name="campaign-new"),
    path("<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:pk>/delete/", views.campaign_remove, name="campaign-delete"),
    path("<int:pk>/launch/", views.campaign_launch_confirm, name="campaign-launch"),
    path("<int:pk>/calls/", views.campaign_calls, name="campaign-calls"),
    path("<int:pk>/calls/<int:member>/called/", views.campaign_called, name="campaign-called"),
    path("<int:pk>/mailing.csv", views.campaign_mailing, name="campaign-mailing"),
    path("<int:pk>/members.csv", views.campaign_members_download, name="campaign-members-csv"),
]
