"""Errors of the comparison study (edgelnn/errors.py keeps the library's; these subclass its base)."""

from __future__ import annotations

from edgelnn.errors import EdgelnnError


class StudyError(EdgelnnError, ValueError):
    """Bad input to the study: unknown model or task, empty grid, bad shard, a spec that differs from OUT's."""


class ParamBudgetError(StudyError):
    """No hidden size puts a model within the tolerance of the parameter budget."""


class StudyResultsError(StudyError):
    """results.json (or a cell.json) is missing, not JSON, or does not match its schema."""
