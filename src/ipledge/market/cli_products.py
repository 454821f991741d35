"""`ipledge market import-products …`: products from the command line.

* ``import-products --bank BANK FILE [--user USERNAME] [--approve [--approver USERNAME]] [--json]`` — import our
  product template (csv or xlsx) for one bank (`BANK` = organisation id or exact name). The whole file is checked
  first: on any bad row one line per error is printed (row, column, rule, message; tab-separated) and the command
  exits 1 having written nothing. Good rows become draft products.
* ``import-products --published FILE [--approve] [--json]`` — load the published product sheet
  (`../shared/data/bank_ip_loan_products.csv`; read at run time only), each lender mapped to a bank of the platform
  by its normalised name; rows outside China, of non-bank lenders or of banks not on the platform are skipped and
  listed with the reason. A product code the bank already has is skipped, so the load can run again.

Who acts (maker-checker): the platform never approves its own products. Unless ``--user`` names the maker, each
bank's products are created by an operator of that bank (else its admin), looked up per bank. Nothing is approved
by default: the products wait as drafts for the bank. With ``--approve`` the maker also submits them and a reviewer
of the same bank or of a bank above it (else an admin; never the maker; ``--approver`` names one for ``--bank``)
approves them, so they go live through the bank's ordinary internal approval, recorded under those two officers'
names in the audit log. The output says, per bank, who made and who approved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from .cli import Subcommand

EPILOG = """\
who acts (maker-checker):
  Unless --user names the maker, each bank's products are created by an operator of that bank (else its
  admin), looked up per bank. Nothing is approved by default: the products wait as drafts. With --approve the
  maker also submits them and a reviewer of the same bank or of a bank above it (else an admin; never the
  maker; --approver names one for --bank) approves them, so they go live through the bank's ordinary internal
  approval, audited under those two officers' names. The output says per bank who made and who approved.

examples:
  ipledge market import-products --bank 北京银行 products.xlsx
  ipledge market import-products --published ../shared/data/bank_ip_loan_products.csv --approve
"""


def _arguments(parser: CommandParser) -> None:
    import argparse

    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", nargs="?", type=Path, help="our product template (.csv or .xlsx), with --bank")
    parser.add_argument("--bank", default="", help="the bank: organisation id or exact name (with FILE)")
    parser.add_argument(
        "--published",
        type=Path,
        default=None,
        metavar="FILE",
        help="the published product sheet (bank_ip_loan_products.csv); banks mapped by name",
    )
    parser.add_argument("--user", default="", help="username of the maker (default: an operator of each bank)")
    parser.add_argument(
        "--approve",
        action="store_true",
        help="also submit the products and have them approved by a reviewer of the same bank (or a bank above "
        "it; else an admin; never the maker), so that they go live; default: leave them as drafts",
    )
    parser.add_argument("--approver", default="", help="username of the approving reviewer (with --bank)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")


def _user(username: str) -> Any:
    from ipledge.core.models import User

    if not username:
        return None
    user = User.objects.select_related("organisation").filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


def _bank(value: str) -> Any:
    from ipledge.core.choices import OrganisationKind
    from ipledge.core.models import Organisation

    banks = Organisation.objects.filter(kind=OrganisationKind.BANK)
    bank = banks.filter(pk=int(value)).first() if value.isdigit() else banks.filter(name=value.strip()).first()
    if bank is None:
        raise CommandError(f"no bank {value!r} (give its organisation id or exact name)")
    return bank


def _handle(command: BaseCommand, options: dict[str, Any]) -> None:
    if options["published"] is not None:
        if options["file"] is not None or options["bank"]:
            raise CommandError("give either --published FILE, or --bank BANK FILE")
        _published(command, options)
        return
    if options["file"] is None or not options["bank"]:
        raise CommandError("give --bank BANK FILE (our template) or --published FILE (the published sheet)")
    _template(command, options)


def _template(command: BaseCommand, options: dict[str, Any]) -> None:
    from django.db import transaction

    from .importing import MAX_BYTES
    from .services import products as services

    path: Path = options["file"]
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise CommandError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    bank = _bank(options["bank"])
    maker, checker = services.makers_and_checkers(bank)
    maker = _user(options["user"]) or maker
    checker = _user(options["approver"]) or (
        services.bank_officer(bank, ("reviewer", "admin"), exclude=maker) if maker else None
    )
    if maker is None:
        raise CommandError(f"{bank.name}: no operator or admin to make the products (name one with --user)")
    if options["approve"] and checker is None:
        raise CommandError(f"{bank.name}: no other reviewer or admin to approve (name one with --approver)")
    try:
        with transaction.atomic():
            result = services.product_import(
                bank=bank, file_name=path.name, content=path.read_bytes(), acting_user=maker
            )
            if not result.rejected and options["approve"]:
                assert checker is not None
                for product in result.products:
                    services.product_publish(product=product, maker=maker, checker=checker, note="批量导入，复核上架")
    except PermissionDenied as exc:
        raise CommandError(f"permission denied: {exc}") from exc
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    if result.rejected:
        if options["json"]:
            command.stdout.write(json.dumps({"rows": result.rows, "errors": result.errors}, ensure_ascii=False))
        else:
            for error in result.errors:
                command.stdout.write(
                    "\t".join([str(error["row"]), error["field"] or "-", error["rule"], error["message"]])
                )
        raise CommandError(f"{path.name}: {len(result.errors)} errors, nothing imported", returncode=1)
    summary = {
        "bank": bank.name,
        "created": len(result.products),
        "published": len(result.products) if options["approve"] else 0,
        "maker": maker.username,
        "checker": checker.username if options["approve"] and checker is not None else "",
    }
    if options["json"]:
        command.stdout.write(json.dumps(summary, ensure_ascii=False))
        return
    command.stdout.write(f"{bank.name}: {summary['created']} products created as drafts by {maker.username}")
    if options["approve"]:
        command.stdout.write(f"  submitted by {maker.username}, approved by {summary['checker']}: live")
    else:
        command.stdout.write("  not approved: a reviewer of the bank approves them (or run again with --approve)")


def _published(command: BaseCommand, options: dict[str, Any]) -> None:
    from .services.products import products_import_published

    path: Path = options["published"]
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    if options["user"] or options["approver"]:
        raise CommandError("--user and --approver apply to --bank imports; the published sheet uses each bank's own")
    try:
        report = products_import_published(path=path, approve=options["approve"])
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if options["json"]:
        command.stdout.write(
            json.dumps(
                {
                    **report.counts(),
                    "skipped_rows": [{"row": r, "reason": why} for r, why in report.skipped],
                    "officers": {bank: {"maker": m, "checker": c} for bank, (m, c) in report.officers.items()},
                },
                ensure_ascii=False,
            )
        )
        return
    for product in report.created:
        state = "live" if product in report.published else "draft"
        command.stdout.write(f"created\t{product.bank.name}\t{product.code}\t{product.name}\t{state}")
    for row, reason in report.skipped:
        command.stdout.write(f"skipped\trow {row}\t{reason}")
    for bank, (maker, checker) in report.officers.items():
        who = f"made by {maker}" + (f", approved by {checker}" if checker else ", not approved (drafts)")
        command.stdout.write(f"{bank}: {who}")
    counts = report.counts()
    command.stdout.write(
        f"{path.name}: {counts['created']} created, {counts['published']} published live, {counts['skipped']} skipped"
    )


SUBCOMMANDS: dict[str, Subcommand] = {
    "import-products": Subcommand(
        help="Import products: our template for one bank (--bank BANK FILE) or the published sheet (--published "
        "FILE); drafts unless --approve, which has each bank's operator submit and another reviewer of the bank "
        "approve them (maker-checker).",
        add_arguments=_arguments,
        handle=_handle,
    ),
}
