"""`patron analyse_comments`: store sentiment and themes on responses whose comments lack them.

New comments are analysed when they are written; this fills in responses stored before that
existed, and with ``--all`` re-analyses every comment (after the taxonomy or lexicons changed).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from patron.feedback.comments import analyse_texts
from patron.feedback.models import Response


class Command(BaseCommand):
    help = (
        "Store sentiment and themes on survey responses whose comments have not been analysed yet."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Re-analyse every comment, not only the missing ones.",
        )
        parser.add_argument(
            "--batch", type=int, default=2000, help="Responses per transaction (default 2000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch = max(1, int(options["batch"]))
        todo = Response.objects.exclude(comment="")
        if not options["all"]:
            todo = todo.filter(sentiment__isnull=True)
        done = 0
        last_pk = 0
        # Keyset pagination: each batch is read, analysed and written on its own.
        while True:
            rows = list(todo.filter(pk__gt=last_pk).order_by("pk").only("pk", "comment")[:batch])
            if not rows:
                break
            for row, (sentiment, themes) in zip(
                rows, analyse_texts([r.comment for r in rows]), strict=True
            ):
                row.sentiment, row.themes = sentiment, themes
            with transaction.atomic():
                Response.objects.bulk_update(rows, ["sentiment", "themes"], batch_size=500)
            done += len(rows)
            last_pk = rows[-1].pk
        self.stdout.write(f"Analysed {done} comments.")
