"""The product's traceability vocabulary: requirements R1-R16, the six pillars, the trace record type.

A leaf module: it imports nothing from the project, so both sides of the traceability link can
depend on it without depending on each other (docs/conventions.md, "Dependencies point one way"):

- ``constructs/traceability.py`` records traces (``trace()`` writes construct metadata of
  ``TRACE_METADATA_TYPE``) and refuses ids that are not listed here;
- ``tools/report`` reads those records from the cloud assembly and lists every requirement here,
  traced or not, without importing ``constructs`` (or CDK).

The requirement texts are the "need" column of the product brief's requirement table.
"""

from __future__ import annotations

# Construct metadata type of a trace record in ``<stack>.metadata.json``:
# {"requirements": [...], "pillars": [...], "why": "..."}.
TRACE_METADATA_TYPE = "medivault:trace"

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

# The six Well-Architected pillars, in the framework's order.
PILLARS: tuple[str, ...] = (
    "operational-excellence",
    "security",
    "reliability",
    "performance-efficiency",
    "cost-optimisation",
    "sustainability",
)
