"""Load the published LPR history (贷款市场报价利率, since the August 2019 reform) from lending/data/lpr_history.csv."""

import csv
from decimal import Decimal
from pathlib import Path

from django.db import migrations

LPR_CSV = Path(__file__).resolve().parent.parent / "data" / "lpr_history.csv"


def load_lpr(apps, schema_editor):
    LprQuote = apps.get_model("lending", "LprQuote")
    with LPR_CSV.open(encoding="utf-8") as fh:
        rows = [
            LprQuote(tenor=row["tenor"], effective_on=row["effective_on"], rate=Decimal(row["rate"]))
            for row in csv.DictReader(fh)
        ]
    LprQuote.objects.bulk_create(rows, ignore_conflicts=True)


def unload_lpr(apps, schema_editor):
    apps.get_model("lending", "LprQuote").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("lending", "0001_initial")]
    operations = [migrations.RunPython(load_lpr, unload_lpr)]
