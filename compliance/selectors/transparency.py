from ..models import SubProcessor, SubProcessorChange


def list_current_sub_processors():
    return SubProcessor.objects.filter(removed_at=None).order_by("name")


def list_sub_processor_changes():
    return SubProcessorChange.objects.select_related("sub_processor").order_by(
        "-created_at", "-id"
    )
