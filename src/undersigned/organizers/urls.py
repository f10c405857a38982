from django.urls import path

from undersigned.organizers import views

app_name = "organizers"
urlpatterns = [path("sign-in/<str:token>/", views.login_with_token, name="login")]
