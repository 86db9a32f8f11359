"""Record which requirements (R1-R16) and Well-Architected pillars a construct implements.

The record is construct metadata of type ``medivault:trace``; CDK writes it to each stack's
``<stack>.metadata.json`` in the cloud assembly, keyed by construct path, next to the
``aws:cdk:logicalId`` entries. The report generator (``tools/report``) reads it from there, so
the traceability matrix is built from what was synthesized, not from a hand-kept list.
"""

from __future__ import annotations

from constructs import IConstruct

METADATA_TYPE = "medivault:trace"

REQUIREMENTS: dict[str, str] = {
    "R1": "data residency + survive an AZ loss",
    "R2": "patient data never reachable from the internet",
    "R3": "every action attributable to a named human; no shared admin; MFA",
    "R4": "no OS patching, scale with demand",
    "R5": "TLS from users, traffic spread, unhealthy tasks removed",
    "R6": "relational patient records, ACID, encrypted",
    "R7": "large files cheap, encrypted, tamper-proof",
    "R8": "profiles load instantly",
    "R9": "stop DDoS, brute-force logins, SQL injection",
    "R10": "no secrets in code",
    "R11": "find PHI put in the wrong bucket",
    "R12": "prove who touched which record, when",
    "R13": "see performance and get paged",
    "R14": "continuous compliance evidence",
    "R15": "survive the loss of Frankfurt",
    "R16": "every change scanned before production, every action logged",
}

PILLARS: tuple[str, ...] = (
    "operational-excellence",
    "security",
    "reliability",
    "performance-efficiency",
    "cost-optimisation",
    "sustainability",
)


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
