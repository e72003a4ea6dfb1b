"""Batch and fleet transcoding: many files, resumable, on a process pool or Ray.

See :func:`run_batch` and ``vidclear batch --help``.
"""

from vidclear.batch.inputs import BatchItem, collect_inputs
from vidclear.batch.runner import BatchOptions, run_batch
from vidclear.batch.state import BatchState, config_hash, input_identity

__all__ = ["BatchItem", "BatchOptions", "BatchState", "collect_inputs", "config_hash",
           "input_identity", "run_batch"]
