import csv

from django.db import migrations


def forwards(apps, schema_editor):
    from ipledge.registration.engine.workdays import DEFAULT_CSV

    CalendarDay = apps.get_model("registration", "CalendarDay")
    existing = set(CalendarDay.objects.values_list("day", flat=True))
    with DEFAULT_CSV.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.lstrip().startswith("#"))
        rows = [
            CalendarDay(day=row["date"], kind=row["kind"], name=row.get("name", "")[:64], source=row.get("source", "")[:255])
            for row in csv.DictReader(lines)
            if row["date"] not in {d.isoformat() for d in existing}
        ]
    CalendarDay.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("registration", "0003_calendar_day")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
