"""The sandbox lifecycle a team runs from the README: preflight, smoke check, teardown (docs/deploy.md)."""
