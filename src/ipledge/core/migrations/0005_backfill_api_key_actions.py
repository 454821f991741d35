"""Give every key created before action scopes the actions of its role, so it keeps working as before.

Keys with an empty action set may do nothing (the principal enforces the set), hence the backfill. The role
table is copied here rather than imported: a migration must keep meaning what it meant when written.
"""

from django.db import migrations

ROLE_ACTIONS = {
    "admin": ["view", "add", "change", "delete", "approve"],
    "operator": ["view", "add", "change"],
    "reviewer": ["view", "approve"],
    "viewer": ["view"],
}


def backfill(apps, schema_editor):
    ApiKey = apps.get_model("core", "ApiKey")
    # Filtered in Python: JSON equality to [] is spelled differently across SQLite and PostgreSQL.
    for key in ApiKey.objects.only("pk", "role", "actions"):
        if not key.actions:
            ApiKey.objects.filter(pk=key.pk).update(actions=ROLE_ACTIONS.get(key.role, []))


class Migration(migrations.Migration):
    dependencies = [("core", "0004_security_api_calls_key_scopes")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
