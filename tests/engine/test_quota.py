"""``engine.quota``: per-user limits, group overrides, windows, and what a refusal says."""

from __future__ import annotations

import pytest

from neira_jupyter.engine.quota import Limits, QuotaExceeded, QuotaLedger, QuotaPolicy
from tests.support.helpers import ManualClock

DAY = 86_400.0


def test_requests_per_minute_refuses_with_the_limit_and_a_retry_after() -> None:
    clock = ManualClock(10 * DAY + 100.0)
    ledger = QuotaLedger(QuotaPolicy(Limits(requests_per_minute=2)), clock)
    ledger.admit("alice", "generate")
    clock.now += 20
    ledger.admit("alice", "generate")
    with pytest.raises(QuotaExceeded) as refused:
        ledger.admit("alice", "generate")
    assert refused.value.limit == "requests_per_minute" and refused.value.status == 429
    assert "requests_per_minute" in str(refused.value)
    assert refused.value.retry_after == 40  # the first request leaves the window then
    ledger.admit("bob", "generate")  # another user is not affected
    ledger.admit("alice", "transcribe")  # live decodes are not counted as requests
    clock.now += 41
    ledger.admit("alice", "generate")


def test_daily_tokens_and_audio_reset_at_utc_midnight() -> None:
    clock = ManualClock(10 * DAY + 100.0)
    ledger = QuotaLedger(QuotaPolicy(Limits(tokens_per_day=10, audio_seconds_per_day=5)), clock)
    ledger.admit("alice", "generate")
    ledger.add_tokens("alice", 10)
    with pytest.raises(QuotaExceeded) as refused:
        ledger.admit("alice", "generate")
    assert refused.value.limit == "tokens_per_day"
    assert refused.value.retry_after == DAY - 100  # until the next UTC day
    ledger.admit("alice", "transcribe")  # the token budget does not block speech
    ledger.add_audio("alice", 6.0)
    with pytest.raises(QuotaExceeded, match="audio_seconds_per_day"):
        ledger.admit("alice", "transcribe")
    clock.now = 11 * DAY + 1
    ledger.admit("alice", "generate")
    ledger.admit("alice", "transcribe")
    assert ledger.report()["alice"]["tokens_today"] == 0


def test_group_overrides_take_the_most_generous_value() -> None:
    policy = QuotaPolicy.from_options(
        Limits(requests_per_minute=5, tokens_per_day=100),
        {"trial": {"tokens_per_day": 10}, "staff": {"tokens_per_day": 0}, "big": {
            "requests_per_minute": 50}},
    )  # fmt: skip
    assert policy.limits_for([]) == Limits(5, 100, 0)
    assert policy.limits_for(["trial"]) == Limits(5, 10, 0)
    assert policy.limits_for(["trial", "staff"]).tokens_per_day == 0  # 0: no limit wins
    assert policy.limits_for(["trial", "big"]) == Limits(50, 100, 0)
    with pytest.raises(ValueError, match="unknown limits"):
        QuotaPolicy.from_options(Limits(), {"x": {"tokens_per_week": 1}})

    ledger = QuotaLedger(policy, ManualClock(10 * DAY + 100.0))
    ledger.set_groups("dave", ["trial"])
    ledger.admit("dave", "generate")
    ledger.add_tokens("dave", 10)
    with pytest.raises(QuotaExceeded, match="10 of 10"):
        ledger.admit("dave", "generate")
    row = ledger.report()["dave"]
    assert row["groups"] == ["trial"] and row["limits"]["tokens_per_day"] == 10
    assert row["requests_total"] == 1 and row["requests_last_minute"] == 1
