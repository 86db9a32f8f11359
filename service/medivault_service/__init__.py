"""MediVault app service: a small ASGI app with liveness and readiness endpoints (R4, R5, R10, R13)."""
