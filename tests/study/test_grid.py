"""The grid: parameter matching within 10% (and its error), names, shards."""

from __future__ import annotations

import pytest

from edgelnn.study.errors import ParamBudgetError, StudyError
from edgelnn.study.grid import (
    STUDY_MODELS,
    Match,
    TrainSettings,
    build_grid,
    count_parameters,
    match_hidden,
    parse_shard,
    shard_cells,
)


@pytest.mark.parametrize("model", list(STUDY_MODELS))
@pytest.mark.parametrize("budget", [3000, 8000])
def test_param_matching_lands_within_10_percent_at_the_nearest_hidden_size(model, budget):
    hidden = match_hidden(model, 12, 9, budget)
    params = count_parameters(model, 12, 9, hidden)
    assert abs(params - budget) <= 0.10 * budget
    for other in (hidden - 1, hidden + 1):  # no neighbour is nearer the budget
        if other >= 1:
            assert abs(count_parameters(model, 12, 9, other) - budget) >= abs(params - budget)


def test_time_aware_rnn_counts_one_more_input_column():
    assert count_parameters("gru-time", 12, 9, 16) - count_parameters("gru", 12, 9, 16) == 3 * 16


def test_a_budget_no_hidden_size_can_meet_is_one_clear_error():
    with pytest.raises(ParamBudgetError) as info:
        match_hidden("cfc", 12, 9, 500)  # CfC's 128-unit backbone alone is larger
    message = str(info.value)
    assert "cfc" in message and "500 parameters" in message and "hidden 1:" in message
    assert isinstance(info.value, ValueError)


def test_build_grid_matches_every_model_and_checks_before_work():
    train = {"sine": TrainSettings(epochs=1, task_options={"n_train": 16, "n_val": 8, "n_test": 8, "seq_len": 8})}
    cells = build_grid(["cfc", "gru"], ["sine"], [0, 1], Match("params", 3000), train)
    assert [c.cell_id for c in cells] == ["cfc-sine-s0", "cfc-sine-s1", "gru-sine-s0", "gru-sine-s1"]
    for c in cells:
        assert abs(count_parameters(c.model, 1, 1, c.hidden_size) - 3000) <= 300
    with pytest.raises(ParamBudgetError):
        build_grid(["gru", "cfc"], ["sine"], [0], Match("params", 100), train)


@pytest.mark.parametrize(("models", "tasks", "seeds", "message"), [
    (["cfc", "rnn9"], ["sine"], [0], "unknown model"),
    (["cfc"], ["sine", "nosuchtask"], [0], "unknown task"),
    ([], ["sine"], [0], "grid is empty"),
    (["cfc"], [], [0], "grid is empty"),
    (["cfc"], ["sine"], [], "grid is empty"),
    (["cfc", "cfc"], ["sine"], [0], "repeat"),
    (["cfc"], ["sine"], [-1], "seeds must be"),
])
def test_bad_grids_are_refused(models, tasks, seeds, message):
    with pytest.raises(StudyError, match=message):
        build_grid(models, tasks, seeds, Match("hidden", 4), {})


def test_match_and_shard_parsing():
    with pytest.raises(StudyError):
        Match("params", 0)
    with pytest.raises(StudyError):
        Match("width", 4)
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "a/b", "3", "0/0"):
        with pytest.raises(StudyError):
            parse_shard(bad)
    items = list(range(7))
    shards = [shard_cells(items, i, 3) for i in range(3)]
    assert sorted(i for shard in shards for i in shard) == items  # every cell in exactly one shard
