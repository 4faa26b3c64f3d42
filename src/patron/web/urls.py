from django.contrib.auth import views as auth_views
from django.urls import include, path

from patron.campaigns import simulate_views
from patron.campaigns.urls import report_urlpatterns as campaign_report_urls
from patron.feedback import urls as feedback_urls
from patron.insights import urls as insights_urls
from patron.web import (
    audit,
    customer_lists,
    dashboards,
    feedback_lists,
    homes,
    order_lists,
    sales_lists,
    saved_views,
    search,
    task_lists,
    views,
)

# One "feedback" namespace for the pages under /s/ and /feedback/, whichever app serves them.
feedback_pages = [
    *feedback_urls.urlpatterns,
    path("feedback/follow-ups/", feedback_lists.follow_up_list, name="follow-ups"),
    *insights_urls.feedback_urlpatterns,
]

urlpatterns = [
    path("", homes.home, name="home"),
    path("dashboards/", dashboards.dashboards, name="dashboards"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", customer_lists.customer_list, name="customer-list"),
    path("customers/bulk/", customer_lists.customer_bulk, name="customer-bulk"),
    path("orders/", order_lists.order_list, name="order-list"),
    path("responses/", feedback_lists.response_list, name="response-list"),
    path("tasks/", task_lists.task_list, name="task-list"),
    path("tasks/<int:pk>/status/", views.task_set_status, name="task-status"),
    path("sales/opportunities/", sales_lists.opportunity_list, name="opportunity-list"),
    path("sales/leads/", sales_lists.lead_list, name="lead-list"),
    path("sales/", include("patron.sales.urls")),
    path("search/", search.search_page, name="search"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("views/", saved_views.saved_view_create, name="saved-view-create"),
    path("views/<int:pk>/delete/", saved_views.saved_view_delete, name="saved-view-delete"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/interactions/", views.customer_log_interaction, name="customer-log-interaction"),
    path("customers/<int:pk>/tasks/", views.customer_add_task, name="customer-add-task"),
    path("imports/", include("patron.imports.urls")),
    path("campaigns/segments/", include("patron.campaigns.urls")),
    path("campaigns/simulate/", simulate_views.campaign_simulate, name="campaign-simulate"),
    path("campaigns/", include(campaign_report_urls)),
    path("campaigns/", include("patron.campaigns.campaign_urls")),
    path("", include((feedback_pages, feedback_urls.app_name))),
    path("", include("patron.insights.urls")),
]
