"""Map a validated number of days to CloudWatch Logs' RetentionDays enum (jsii enums carry names)."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

_BY_DAYS: dict[int, logs.RetentionDays] = dict(
    zip(
        (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
        [r for r in logs.RetentionDays if r is not logs.RetentionDays.INFINITE],
        strict=True,
    )
)


def retention(days: int) -> logs.RetentionDays:
    """``days`` must be one CloudWatch Logs accepts (config validation guarantees it)."""
    try:
        return _BY_DAYS[days]
    except KeyError:
        raise ValueError(f"log retention {days} days is not allowed; allowed: {', '.join(map(str, _BY_DAYS))}") from None
