"""What an erasure (customers.privacy) blanks in feedback: free-text answers to survey questions."""

from __future__ import annotations

from patron.customers.models import Customer
from patron.feedback.models import Response


def erase_answers(customer: Customer) -> None:
    """Answers to a survey's text questions (strings) are blanked; scores (numbers) stay."""
    for response in Response.objects.filter(customer=customer).exclude(answers={}).only("pk", "answers"):
        answers = response.answers or {}
        cleaned = {k: ("" if isinstance(v, str) else v) for k, v in answers.items()}
        if cleaned != answers:
            Response.objects.filter(pk=response.pk).update(answers=cleaned)
