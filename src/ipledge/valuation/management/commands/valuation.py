"""`ipledge valuation SUBCOMMAND …`: offline tasks of the valuation engine.

* ``validate [--dataset PATH] [--folds 5] [--seed N] [--scenario finance]`` — cross-validates the indicator score,
  two baselines, a logistic regression and the LightGBM layer on the jy2014 US maintenance-fee file
  (`ipledge.valuation.engine.validation`); prints an aligned table and, as the last line, the JSON summary
  (``auc``, ``baseline_auc``, ``indicator_auc``, ``logit_auc``, ``n``, ``positives``, ``folds``, ``seed`` …).

The dataset has no licence: it is read from the path given at run time and never copied into the repository. The
default path is ``../shared/data/…`` next to the project root.

To add a subcommand, write its `add_arguments` and `handle` functions and register them in `SUBCOMMANDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

JY2014_FILE = "jy2014_us_univ_patents_2004_features_maintfee.csv"  # = validation.JY2014_FILE, kept import-free


def default_dataset() -> Path:
    project_dir = Path(getattr(settings, "PROJECT_DIR", Path.cwd()))
    return project_dir.parent / "shared" / "data" / JY2014_FILE


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[CommandParser], None]
    handle: Callable[[BaseCommand, dict[str, Any]], None]


def _validate_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help=f"path of {JY2014_FILE} (default: ../shared/data/ next to the project root)",
    )
    parser.add_argument("--folds", type=int, default=5, help="number of stratified folds (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fold split and of LightGBM")
    parser.add_argument("--scenario", default="finance", help="indicator-tree scenario whose weights are scored")


def _validate(command: BaseCommand, options: dict[str, Any]) -> None:
    # Imported here so that listing commands does not load LightGBM and scikit-learn.
    from ipledge.valuation.engine import ml, validation

    path: Path = options["dataset"] or default_dataset()
    if not path.is_file():
        raise CommandError(f"dataset not found: {path} (pass --dataset PATH to {JY2014_FILE})")
    if options["folds"] < 2:
        raise CommandError("--folds must be at least 2")
    seed = ml.DEFAULT_SEED if options["seed"] is None else options["seed"]
    try:
        report = validation.validate(path, folds=options["folds"], seed=seed, scenario=options["scenario"])
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    command.stdout.write(report.text())
    command.stdout.write(report.to_json())  # last line: machine-readable


def _train_arguments(parser: CommandParser) -> None:
    parser.add_argument("--label", choices=["maintained", "transacted"], default="maintained")
    parser.add_argument("--user", default=None, help="username of the national IP office admin who trains (audited)")


def _train(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.core.models import User
    from ipledge.valuation import services

    user = User.objects.filter(username=options["user"]).first() if options["user"] else None
    if options["user"] and user is None:
        raise CommandError(f"no user {options['user']!r}")
    try:
        model = services.model_train(label=options["label"], acting_user=user)
    except (services.ValidationError, services.PermissionDenied) as exc:
        raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
    state = "active" if model.is_active else "kept inactive (not better than chance)"
    command.stdout.write(
        f"model #{model.pk} for {model.label}: {model.training_rows} rows, CV AUC {model.cv_auc:.3f}, {state}"
    )


def _refresh_arguments(parser: CommandParser) -> None:
    del parser  # no options


def _refresh(command: BaseCommand, options: dict[str, Any]) -> None:
    from ipledge.valuation import services

    row = services.cohort_stats_refresh()
    command.stdout.write(f"cohort statistics over {row.rights_counted:,} rights stored (#{row.pk})")


def _revalue_arguments(parser: CommandParser) -> None:
    parser.add_argument("--user", required=True, help="username of the park or IP office user who asks (audited)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--park", type=int, help="park id")
    group.add_argument("--region", help="6-digit region code")


def _revalue(command: BaseCommand, options: dict[str, Any]) -> None:
    """Queue a batch and run it here (no worker needed), printing the progress as the task would."""
    from django.db import transaction

    from ipledge.core.models import Region, User
    from ipledge.registry.models import Park
    from ipledge.valuation import services

    user = User.objects.filter(username=options["user"]).first()
    if user is None:
        raise CommandError(f"no user {options['user']!r}")
    park = Park.objects.filter(pk=options["park"]).first() if options["park"] else None
    region = Region.objects.filter(code=options["region"]).first() if options["region"] else None
    if park is None and region is None:
        raise CommandError("no such park or region")
    try:
        with transaction.atomic():
            batch = services.revaluation_batch_start(acting_user=user, park=park, region=region, defer=True)
    except (services.ValidationError, services.PermissionDenied) as exc:
        raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
    batch = services.revaluation_batch_run(batch.pk)
    command.stdout.write(f"batch #{batch.pk}: {batch.get_status_display()} {batch.done}/{batch.total} {batch.error}")


SUBCOMMANDS: dict[str, Subcommand] = {
    "validate": Subcommand(
        help="cross-validate the indicator score and the learned layer on the jy2014 maintenance-fee file",
        add_arguments=_validate_arguments,
        handle=_validate,
    ),
    "train": Subcommand(
        help="train the learned layer on the register's revealed outcomes (kept inactive if not better than chance)",
        add_arguments=_train_arguments,
        handle=_train,
    ),
    "refresh-cohorts": Subcommand(
        help="recompute the cohort statistics (IPC section x filing year) over the whole register",
        add_arguments=_refresh_arguments,
        handle=_refresh,
    ),
    "revalue": Subcommand(
        help="revalue a park's or a region's portfolio now, in this process",
        add_arguments=_revalue_arguments,
        handle=_revalue,
    ),
}


class Command(BaseCommand):
    help = "Valuation engine tasks: " + ", ".join(SUBCOMMANDS) + "."
    requires_system_checks: list[str] = []  # type: ignore[assignment]
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, sub in SUBCOMMANDS.items():
            sub.add_arguments(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args: Any, **options: Any) -> None:
        SUBCOMMANDS[options["subcommand"]].handle(self, options)
