"""A small client of the records API, used by the tests (Starlette's TestClient), the benchmark and
the smoke scenario (requests against a running uvicorn). Both clients offer .get/.post/.put with
json= and headers= and answers with .status_code and .json()."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from tests.service.harness import PASSWORD, World, totp_code


class Api:
    def __init__(self, http: Any, world: World, base: str = "") -> None:
        self.http = http
        self.world = world
        self.base = base

    def sign_in(self, username: str, password: str = PASSWORD) -> str:
        """The access token, through the MFA step when Cognito asks for it."""
        first = self.http.post(f"{self.base}/v1/auth/sign-in", json={"username": username, "password": password})
        assert first.status_code == 200, first.text
        body = first.json()
        if body.get("challenge") == "SOFTWARE_TOKEN_MFA":
            secret = self.world.users[username].totp_secret
            assert secret is not None
            second = self.http.post(f"{self.base}/v1/auth/mfa", json={"username": username, "session": body["session"], "code": totp_code(secret)})
            assert second.status_code == 200, second.text
            body = second.json()
        token: str = body["access_token"]
        return token

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def create_document(self, token: str, patient: str, data: bytes, title: str = "Knee MRI report", content_type: str = "application/pdf") -> Any:
        return self.http.post(
            f"{self.base}/v1/records",
            headers=self.auth(token),
            json={
                "patient_id": patient,
                "kind": "document",
                "title": title,
                "content_type": content_type,
                "size_bytes": len(data),
                "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            },
        )

    def confirm(self, token: str, record_id: str, parts: list[dict[str, Any]] | None = None) -> Any:
        return self.http.post(f"{self.base}/v1/records/{record_id}/confirm", headers=self.auth(token), json={"parts": parts} if parts else {})

    def get(self, token: str, record_id: str) -> Any:
        return self.http.get(f"{self.base}/v1/records/{record_id}", headers=self.auth(token))

    def list(self, token: str, patient: str) -> Any:
        return self.http.get(f"{self.base}/v1/patients/{patient}/records", headers=self.auth(token))
