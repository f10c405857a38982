from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "undersigned.messaging"
