from django.urls import path

from undersigned.contracts import views

urlpatterns = [
    path("companies/<slug:slug>/contracts", views.api_company_contracts, name="api-company-contracts"),
]
