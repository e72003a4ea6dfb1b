"""The threaded runner, its flow-control channels and its stats."""

from vidclear.pipeline.channel import Cancelled, Channel
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stats import PipelineStats, StageStats

__all__ = ["Cancelled", "Channel", "Pipeline", "PipelineStats", "StageStats"]
