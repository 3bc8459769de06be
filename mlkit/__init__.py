"""Shared logic of the pipeline: plain, typed functions that the DVC stages call."""
