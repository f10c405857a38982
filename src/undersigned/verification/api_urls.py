from django.urls import path

from undersigned.verification import api

urlpatterns = [
    path("letters/<slug:slug>/keys", api.letter_keys, name="api-letter-keys"),
    path("letters/<slug:slug>/verifications", api.verifications, name="api-letter-verifications"),
    path("letters/<slug:slug>/tokens", api.tokens, name="api-letter-tokens"),
    path("letters/<slug:slug>/withdrawals", api.withdrawals, name="api-letter-withdrawals"),
]
