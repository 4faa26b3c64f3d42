from django.urls import path, re_path

from patron.feedback import public, views

# The "feedback" namespace also holds the follow-up list (web.feedback_lists) and the NPS and themes pages
# (insights.urls): web/urls.py gathers them, as pages above both apps.
app_name = "feedback"

urlpatterns = [
    # Public: no login; links in emails, on receipts and on the kiosk tablet.
    path("s/i/<str:token>/", public.answer, name="answer"),
    path("s/r/<str:token>/", public.response_comment, name="response-comment"),
    path("s/u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("s/<str:key>/", public.public, name="public"),
    path("s/<str:key>/kiosk/", public.kiosk, name="kiosk"),
    # Staff pages.
    path("feedback/", views.feed, name="feed"),
    path("feedback/feed/rows/", views.feed_rows, name="feed-rows"),
    path("feedback/surveys/", views.survey_list, name="surveys"),
    path("feedback/surveys/<int:pk>/", views.survey_detail, name="survey"),
    re_path(r"^feedback/surveys/(?P<pk>\d+)/qr\.(?P<fmt>png|svg)$", views.survey_qr, name="survey-qr"),
    path("feedback/follow-ups/<int:pk>/", views.follow_up_detail, name="follow-up"),
    path("feedback/follow-ups/<int:pk>/contact/", views.follow_up_contact, name="follow-up-contact"),
    path("feedback/follow-ups/<int:pk>/close/", views.follow_up_close, name="follow-up-close"),
    path("feedback/reviews/", views.review_list, name="reviews"),
    path("feedback/reviews/<int:pk>/", views.review_detail, name="review"),
    path("customers/<int:pk>/survey/", views.customer_send_survey, name="customer-send-survey"),
]
