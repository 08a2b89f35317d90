from clozup.models import Organization
from crm.models import Stage

DEFAULT_PIPELINE = (
    # name, win probability in percent, won, lost
    ("Prospecting", 10, False, False),
    ("Engaging", 30, False, False),
    ("Proposal", 60, False, False),
    ("Negotiation", 80, False, False),
    ("Won", 100, True, False),
    ("Lost", 0, False, True),
)


def create_default_pipeline(organization: Organization) -> list[Stage]:
    """The stages a new organization starts with; admins may change them."""
    return Stage.objects.bulk_create(
        Stage(
            organization=organization,
            name=name,
            position=position,
            probability=probability,
            is_won=won,
            is_lost=lost,
        )
        for position, (name, probability, won, lost) in enumerate(DEFAULT_PIPELINE)
    )
