from django.urls import path

from undersigned.verification import views

app_name = "verification"
urlpatterns = [
    path("letters/<slug:slug>/verify/", views.verify, name="verify"),
    path("letters/<slug:slug>/verify/code/", views.request_code, name="code"),
    path("letters/<slug:slug>/verify/token/", views.get_token, name="token"),
    path("letters/<slug:slug>/verify/submit/", views.submit, name="submit"),
    path("letters/<slug:slug>/verify/withdraw/", views.withdraw, name="withdraw"),
]
