"""Typed, frozen configuration: sections, presets and overrides."""

from vidclear.config.loader import Config, available_presets, load_config
from vidclear.config.sections import InputConfig, OutputConfig, PipelineConfig
from vidclear.core.schema import Section, param

__all__ = ["Config", "InputConfig", "OutputConfig", "PipelineConfig", "Section",
           "available_presets", "load_config", "param"]
