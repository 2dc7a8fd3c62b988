from django.urls import path

from . import views

app_name = "desk"

urlpatterns = [
    path("", views.desk_home, name="home"),
    path("visits/<int:visit_id>/", views.desk_visit, name="visit"),
    path("visits/<int:visit_id>/identity/", views.desk_identity, name="identity"),
    path("visits/<int:visit_id>/consents/<int:consent_id>/withdraw/", views.desk_withdraw_view, name="withdraw"),
    path("visits/<int:visit_id>/requests/", views.desk_request_view, name="request"),
    path("visits/<int:visit_id>/receipt.pdf", views.desk_receipt_view, name="receipt"),
    path("visits/<int:visit_id>/end/", views.desk_visit_end_view, name="end"),
]
