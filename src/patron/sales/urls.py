from django.urls import path

from patron.sales import views

urlpatterns = [
    path("", views.sales_board, name="sales-board"),
    path("opportunities/new/", views.opportunity_new, name="opportunity-new"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/move/", views.opportunity_move_page, name="sales-move"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity-edit"),
    path("leads/new/", views.lead_new, name="lead-new"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/convert/", views.lead_convert_page, name="lead-convert"),
    path("leads/<int:pk>/disqualify/", views.lead_disqualify_page, name="lead-disqualify"),
]
