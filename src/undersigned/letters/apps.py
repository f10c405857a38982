from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "undersigned.letters"
