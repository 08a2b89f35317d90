import pytest

from assist.models import AssistSettings
from clozup.tenancy import org_context
from tests.assist.fake_provider import FakeProvider

MODEL = "test-model-1"
DEFAULT_KEY = "sk-default-key-for-tests-0001"


@pytest.fixture
def provider(settings):
    """The fake provider, set as Clozup's default, with short timeouts."""
    with FakeProvider() as fake:
        settings.AI_BASE_URL = fake.base_url
        settings.AI_MODEL = MODEL
        settings.AI_API_KEY = DEFAULT_KEY
        settings.AI_ALLOW_LOOPBACK_HTTP = True
        settings.AI_CONNECT_TIMEOUT = 1.0
        settings.AI_READ_TIMEOUT = 0.5
        settings.AI_TOTAL_TIMEOUT = 2.0
        settings.AI_MAX_RETRIES = 2
        yield fake


@pytest.fixture
def turn_on_ai():
    def turn_on(organization, **fields) -> AssistSettings:
        fields.setdefault("summary_enabled", True)
        fields.setdefault("follow_up_enabled", True)
        with org_context(organization):
            assist_settings = AssistSettings(organization=organization, **fields)
            assist_settings.save()
            return assist_settings

    return turn_on
