import os
import subprocess
import sys

import pytest
from django.conf import settings

from audit import services as audit
from audit.models import AuditEntry
from clozup.tenancy import org_context
from tests.conftest import database_url

WRITERS = 6
EVENTS_EACH = 60


@pytest.mark.slow
def test_concurrent_writers_in_separate_processes_leave_a_valid_chain(
    committed_db, make_org
):
    org, other = make_org(), make_org()
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="clozup.settings",
    )
    env.pop("MIGRATION_DATABASE_URL", None)

    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.audit.concurrent_writer", str(target.pk),
             str(EVENTS_EACH), str(n)],
            cwd=settings.BASE_DIR,
            env=env,
        )
        for n, target in enumerate([org] * (WRITERS - 1) + [other])
    ]  # fmt: skip
    assert [w.wait(timeout=240) for w in writers] == [0] * WRITERS

    with org_context(org):
        result = audit.verify_chain(org)
        written = AuditEntry.objects.filter(action="record.updated").count()
        seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))

    assert written == (WRITERS - 1) * EVENTS_EACH
    assert seqs == list(range(1, len(seqs) + 1))
    assert result.ok, result
    with org_context(other):
        assert audit.verify_chain(other).ok
