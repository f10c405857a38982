from django.urls import path

from undersigned.letters import views

app_name = "letters"
urlpatterns = [
    path("", views.index, name="index"),
    path("letters/<slug:slug>/", views.detail, name="detail"),
]
