"""Teaching and audit report of a synthesized MediVault app (``python -m tools.report cdk.out``).

Everything is read from the cloud assembly (templates, ``<stack>.metadata.json`` with the
``medivault:trace`` records, ``validation-report.json``), the typed config in ``stacks/config``, the
dated price table next to this file and the test modules' ``requirements`` markers (read with
``ast``, no pytest run). Output: ``<outdir>/report/`` (report.md, index.html, report.json,
architecture.svg).
"""
