import pytest

from ipledge.core.models import AuditEvent
from ipledge.registry.models import Enterprise, IPRight

pytestmark = pytest.mark.django_db


def test_world_builds_and_is_audited(world):
    assert Enterprise.objects.count() == 3
    assert IPRight.objects.get(pk=world.rights["r1"].pk).term_end.isoformat() == "2039-03-04"
    assert AuditEvent.objects.filter(action="ip_right.create").count() == 3
    assert world.enterprises["e1"].region_code == "110108"
    assert world.enterprises["e1"].size_class == "medium"
