"""The deploy rehearsal reads the assembly the session's ``synth`` fixture wrote (tests/conftest.py):
the whole app, both stages and the organisation, with concrete accounts. One synth per session."""

from __future__ import annotations

import pytest

from tests.conftest import Synthesized
from tests.deploy.model import Assembly, load


@pytest.fixture(scope="session")
def assembly(synth: Synthesized) -> Assembly:
    return load(synth.outdir)


@pytest.fixture(scope="session")
def audit_settings(synth: Synthesized) -> dict[str, object]:
    """Each stage's audit config by stage name (``Sandbox``), for the singleton switches."""
    return {stage.config.stage_name: stage.config.audit for stage in synth.stages.values()}


def switch(audit_config: object, name: str) -> bool:
    """A ``use_existing_*`` switch on the audit config; False where the config has no such switch yet."""
    return bool(getattr(audit_config, name, False))
