"""Frames, processors, the threaded runner and its stats."""

from vidclear.pipeline.channel import Cancelled, Channel
from vidclear.pipeline.frame import Frame
from vidclear.pipeline.processor import Processor
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stats import PipelineStats, StageStats

__all__ = ["Cancelled", "Channel", "Frame", "Pipeline", "PipelineStats", "Processor", "StageStats"]
