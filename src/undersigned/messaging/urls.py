from django.urls import path

from undersigned.messaging import views

app_name = "messaging"
urlpatterns = [path("", views.outbox, name="outbox")]
