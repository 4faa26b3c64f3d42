"""``patron rates pending`` and ``patron rates convert [--all]``: orders and cost events waiting
for an exchange rate, and their conversion once rates are loaded (docs/configuration.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patron.commerce.currency import check_base_currency, convert_pending, pending


class Command(BaseCommand):
    help = (
        "List the orders and cost events that wait for an exchange rate (pending), or convert them "
        "into the base currency now that rates are loaded (convert; --all recomputes every record)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("pending", help="what waits for a rate, per currency and span of days")
        convert = sub.add_parser("convert", help="convert what waits for a rate; refresh the customers' totals")
        convert.add_argument(
            "--all",
            action="store_true",
            help="recompute the base amounts of every order and cost event from the current rates",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = check_base_currency()
        if options["action"] == "convert":
            converted, waiting = convert_pending(everything=options["all"])
            self.stdout.write(f"Converted {converted:,} records into {base}; {waiting:,} still wait for a rate.")
        waiting_now = pending()
        if not waiting_now.by_currency:
            self.stdout.write(f"Nothing waits for a rate: every order and cost event is in {base}.")
            return
        self.stdout.write(
            f"Waiting for a rate (counted in no total): {waiting_now.orders:,} orders, "
            f"{waiting_now.cost_events:,} cost events."
        )
        for currency, first, last, count in waiting_now.by_currency:
            self.stdout.write(f"  {currency}: {count:,} from {first.isoformat()} to {last.isoformat()}")
        self.stdout.write("Load rates (patron import rates FILE, POST /api/v1/rates or the admin), then: patron rates convert")
