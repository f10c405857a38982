from django.urls import path

from undersigned.ledger import views

app_name = "ledger"
urlpatterns = [
    path("letters/<slug:slug>/check/", views.how_to_check, name="how-to-check"),
    path("letters/<slug:slug>/check/receipt/", views.check_receipt, name="check-receipt"),
]
