"""``patron generate --customers N [--seed S]``: synthetic data from a known process."""

from __future__ import annotations

import argparse
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.dbstats import refresh_planner_statistics
from patron.generator.campaign_history import CampaignHistoryError, generate_campaign_history
from patron.generator.simulate import Population
from patron.generator.writer import DEFAULT_CHUNK_SIZE, GeneratorError, generate_dataset


def _whole_number(minimum: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if value < minimum:
            bound = "positive" if minimum == 1 else "zero or positive"
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, not {value}")
        return value

    return parse


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--foreign-share must be a number from 0 to 1, not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"--foreign-share must be from 0 to 1, not {text}")
    return value


def _currency(text: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise argparse.ArgumentTypeError(f"--foreign-currency must be a three-letter code such as USD, not {text!r}")
    return text


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e9:
        raise argparse.ArgumentTypeError(f"--foreign-rate must be a positive number, not {text!r}")
    return value


class Command(BaseCommand):
    help = (
        "Generate synthetic customers, orders, cost events, interactions and survey answers from a "
        "known process, and record the true parameters (see docs/generator.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers", required=True, type=_whole_number(1, "--customers"), help="how many customers (N > 0)"
        )
        parser.add_argument("--seed", type=_whole_number(0, "--seed"), default=1, help="random seed (default 1)")
        parser.add_argument(
            "--chunk-size",
            type=_whole_number(1, "--chunk-size"),
            default=DEFAULT_CHUNK_SIZE,
            help=f"customers written per transaction (default {DEFAULT_CHUNK_SIZE}; rounded up to whole blocks of 10,000)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete customers generated earlier with the same seed (and all their records) first",
        )
        parser.add_argument(
            "--foreign-share",
            type=_share,
            default=0.0,
            help="share of customers billed in --foreign-currency (default 0: all in the base currency)",
        )
        parser.add_argument("--foreign-currency", type=_currency, default="USD", help="default USD")
        parser.add_argument(
            "--foreign-rate",
            type=_rate,
            default=7.1,
            help="base-currency units per foreign unit that generated daily rates move around (default 7.1)",
        )
        parser.add_argument(
            "--campaigns",
            type=_whole_number(0, "--campaigns"),
            default=0,
            help="past campaigns with control groups and a known uplift per value class (default 0; docs/generator.md)",
        )
        parser.add_argument(
            "--campaign-members",
            type=_whole_number(2, "--campaign-members"),
            default=5_000,
            help="customers drawn into each generated campaign (default 5000)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            dataset = generate_dataset(
                options["customers"],
                options["seed"],
                chunk_size=options["chunk_size"],
                replace=options["replace"],
                params=Population().replace(
                    foreign_share=options["foreign_share"],
                    foreign_currency=options["foreign_currency"],
                    foreign_rate=options["foreign_rate"],
                ),
                progress=not options["no_progress"] and options.get("verbosity", 1) > 0,
            )
        except GeneratorError as exc:
            raise CommandError(str(exc)) from exc
        if options["campaigns"]:
            try:
                history = generate_campaign_history(
                    seed=dataset.seed, campaigns=options["campaigns"], members=options["campaign_members"], dataset=dataset
                )
            except CampaignHistoryError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Campaign history: {len(history.campaigns)} campaigns, {history.members:,} members.")
        refresh_planner_statistics()
        counts = dataset.truth.get("counts", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated data set {dataset.pk} (seed {dataset.seed}): "
                + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
                + f" in {dataset.truth.get('seconds')} s."
            )
        )
        self.stdout.write(f"Truth: {dataset.truth['files']['truth']}")
        self.stdout.write(f"Survey answers: {dataset.truth['files']['responses']}")
