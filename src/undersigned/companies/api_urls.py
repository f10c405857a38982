from django.urls import path

from undersigned.companies import views

urlpatterns = [
    path("companies", views.company_list, name="api-companies"),
    path("companies/<slug:slug>", views.company_detail, name="api-company"),
]
