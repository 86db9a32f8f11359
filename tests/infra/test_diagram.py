"""The committed architecture diagram (docs/architecture.svg) is generated from the app and current."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import CONCRETE_ACCOUNTS, Synthesized
from tools.report import diagram

# The diagram is reviewed with every change: it must show what the synth builds.
pytestmark = pytest.mark.requirements("R16")

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "architecture.svg"
SVG = "{http://www.w3.org/2000/svg}"


def test_committed_diagram_matches_the_synthesized_app(synth: Synthesized) -> None:
    regenerated = diagram.render(synth.outdir)
    assert COMMITTED.read_text() == regenerated, "docs/architecture.svg is stale: run `make diagram` and commit docs/architecture.svg"


def test_diagram_is_deterministic_and_free_of_accounts(synth: Synthesized) -> None:
    first = diagram.render(synth.outdir)
    assert diagram.render(synth.outdir) == first
    for account in CONCRETE_ACCOUNTS.values():
        assert account not in first


def test_diagram_shows_every_production_stack_and_dependency(synth: Synthesized) -> None:
    root = ET.fromstring(diagram.render(synth.outdir))  # noqa: S314 - our own generated SVG, not untrusted input
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    stage = synth.stages["production"]
    names = sorted(s.stack_name for s in stage.node.children if hasattr(s, "stack_name"))
    assert names and all(name in texts for name in names)
    assert not any(t.startswith("Sandbox-") for t in texts)
    dependencies = sum(len(s.dependencies) for s in stage.node.children if hasattr(s, "dependencies"))
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("marker-end") == "url(#arrow)"]
    assert len(arrows) == dependencies >= 1
    assert {"eu-central-1", "eu-west-1", "us-east-1"} <= set(texts)


def test_readme_shows_the_diagram_and_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/architecture.svg)" in readme
    assert "](docs/requirements.md)" in readme
    assert "](docs/well-architected.md)" in readme
    assert "make report" in readme and "make diagram" in readme


def test_requirements_doc_lists_r1_to_r16_as_in_the_code() -> None:
    from constructs.traceability import REQUIREMENTS

    text = (ROOT / "docs" / "requirements.md").read_text()
    for rid in REQUIREMENTS:
        assert f"\n| {rid} |" in text, rid
