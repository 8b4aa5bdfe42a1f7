"""The llmteam dialect: llmteam-ai 2.x SegmentDefinition and 5.x WorkflowDefinition exports.

`translate(data)` turns one into this engine's SegmentDefinition; see translate.py for the rules
and docs/llmteam.md for the semantic differences from llmteam's own runner.
"""

from segments.dialects.llmteam.translate import Remark, Translation, translate

__all__ = ["Remark", "Translation", "translate"]
