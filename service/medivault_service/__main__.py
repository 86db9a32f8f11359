"""Container entry point: JSON logs, then uvicorn on 0.0.0.0:$PORT (default 8080)."""

from __future__ import annotations

import os

import uvicorn

from medivault_service import jsonlog
from medivault_service.api import create_app


def main() -> None:
    jsonlog.configure(os.environ.get("LOG_LEVEL", "INFO"))
    port = int(os.environ.get("PORT", "8080"))
    # Listens on all interfaces inside the task's own network namespace (awsvpc); the security
    # group admits only the ALB.
    uvicorn.run(create_app(), host="0.0.0.0", port=port, log_config=None, access_log=False, proxy_headers=True, forwarded_allow_ips="*")  # noqa: S104


if __name__ == "__main__":
    main()
