"""The "answers/seconds" form of a rate limit (PATRON_ANSWER_RATE_LIMIT), read by the settings
at start-up and by the limiter at each request (tests change the setting as a string)."""


def parse_rate(raw: str) -> tuple[int, int]:
    """``"30/60"`` -> (30, 60); ``"0"`` switches the limit off; ValueError for anything else."""
    count, _, window = str(raw).partition("/")
    result = (int(count), int(window or "60"))
    if result[0] < 0 or result[1] < 1:
        raise ValueError(raw)
    return result
