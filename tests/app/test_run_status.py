"""The run status type: every move the transition table allows, and a clear refusal of the others."""

import pytest

from app.runs.status import ACTIVE, TRANSITIONS, InvalidTransition, RunStatus

S = RunStatus
ALLOWED = {
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.STOPPED),
    (S.QUEUED, S.FAILED),
    (S.QUEUED, S.INTERRUPTED),
    (S.RUNNING, S.PAUSED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.STOPPED),
    (S.RUNNING, S.DIVERGED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.INTERRUPTED),
    (S.PAUSED, S.RUNNING),
    (S.PAUSED, S.STOPPED),
    (S.PAUSED, S.FAILED),
    (S.PAUSED, S.INTERRUPTED),
    (S.INTERRUPTED, S.QUEUED),
}


@pytest.mark.parametrize("old", list(S))
@pytest.mark.parametrize("new", list(S))
def test_the_table_allows_exactly_the_lifecycle_moves(old, new):
    assert old.can_become(new) == ((old, new) in ALLOWED)
    if (old, new) in ALLOWED:
        assert old.check(new, "r1") is new
    else:
        with pytest.raises(InvalidTransition) as info:
            old.check(new, "r1")
        assert str(info.value).startswith(f"run r1 cannot go from {old.value} to {new.value}")


def test_a_refusal_says_what_the_run_can_become():
    with pytest.raises(InvalidTransition, match="from completed it can become nothing: it has ended"):
        S.COMPLETED.check(S.RUNNING)
    with pytest.raises(InvalidTransition, match="from interrupted it can become queued"):
        S.INTERRUPTED.check(S.RUNNING)


def test_active_resumable_and_the_table_agree():
    assert {S.QUEUED, S.RUNNING, S.PAUSED} == ACTIVE
    assert {s for s in S if s.resumable} == {S.PAUSED, S.INTERRUPTED}
    assert set(TRANSITIONS) == set(S)
    for s in S:  # an ended run moves only to be resumed; an active one can always end
        assert (s.active and S.INTERRUPTED in TRANSITIONS[s]) or TRANSITIONS[s] <= {S.QUEUED}
    assert str(S.RUNNING) == "running" and f"{S.PAUSED}" == "paused"
