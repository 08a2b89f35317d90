from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "assist"
    verbose_name = "AI assist"

    def ready(self):
        from assist import checks  # noqa: F401 -- registers the system checks
