from django.urls import path

from undersigned.signatures import views

app_name = "signatures"
urlpatterns = [
    path("letters/<slug:slug>/sign/", views.sign, name="sign"),
    path("letters/<slug:slug>/sign/check-your-email/", views.check_email, name="check_email"),
    path("signatures/confirm/<str:token>/", views.confirm, name="confirm"),
    path("signatures/withdraw/<str:token>/", views.withdraw, name="withdraw"),
]
