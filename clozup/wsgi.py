import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clozup.settings")

application = get_wsgi_application()

from clozup.tenancy import assert_safe_database_role  # noqa: E402  after setup

assert_safe_database_role()
