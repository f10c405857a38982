from django.urls import path

from undersigned.contracts import views

app_name = "contracts"
urlpatterns = [
    path("contracts/", views.index, name="index"),
    path("contracts/export.csv", views.export, name="export"),
    path("contracts/companies/<slug:slug>/", views.company, name="company"),
    path("contracts/companies/<slug:slug>/awards.csv", views.company_csv, name="company_csv"),
    path("contracts/companies/<slug:slug>/feed/", views.CompanyFeed(), name="company_feed"),
    path("contracts/categories/<slug:slug>/", views.category, name="category"),
    path("contracts/categories/<slug:slug>/feed/", views.CategoryFeed(), name="category_feed"),
]
