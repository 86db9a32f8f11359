"""Record which requirements (R1-R16) and Well-Architected pillars a construct implements.

The record is construct metadata of type ``medivault:trace``; CDK writes it to each stack's
``<stack>.metadata.json`` in the cloud assembly, keyed by construct path, next to the
``aws:cdk:logicalId`` entries. The report generator (``tools/report``) reads it from there, and
the requirement list from the leaf module ``catalog`` (never from here), so the traceability
matrix is built from what was synthesized, not from a hand-kept list.
"""

from __future__ import annotations

from constructs import IConstruct

from catalog import PILLARS, REQUIREMENTS, TRACE_METADATA_TYPE

# The vocabulary lives in the leaf module ``catalog`` (shared with tools/report); re-exported here
# so construct code keeps one import for tracing.
METADATA_TYPE = TRACE_METADATA_TYPE
__all__ = ["METADATA_TYPE", "PILLARS", "REQUIREMENTS", "trace"]


def trace(construct: IConstruct, requirements: list[str], pillars: list[str], why: str) -> None:
    """Mark ``construct`` (and so every CloudFormation resource below it) as implementing these.

    ``why`` is one sentence for the report: how this construct meets the requirements.
    """
    unknown = [r for r in requirements if r not in REQUIREMENTS]
    if unknown or not requirements:
        raise ValueError(f"trace: unknown or missing requirement ids {unknown}; allowed: {', '.join(REQUIREMENTS)}")
    bad = [p for p in pillars if p not in PILLARS]
    if bad or not pillars:
        raise ValueError(f"trace: unknown or missing pillars {bad}; allowed: {', '.join(PILLARS)}")
    if len(why.strip()) < 10:
        raise ValueError("trace: 'why' must say in a sentence how the construct meets the requirement")
    construct.node.add_metadata(METADATA_TYPE, {"requirements": requirements, "pillars": pillars, "why": why})
