"""App-tier settings (R4, R5, R13): Fargate task size, task counts, autoscaling targets, the ALB
certificate and the tracing sidecar image."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_range

# Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
# Review placeholder: no real certificate. A stack built with it carries a deploy guard that fails
# the deploy at once (constructs/deploy_guard.py); configure `domain` or a real ARN to deploy.
PLACEHOLDER_CERTIFICATE_ARN = "arn:aws:acm:eu-central-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"
_CERTIFICATE_ARN = re.compile(r"^arn:aws:acm:eu-central-1:\d{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
_IMAGE = re.compile(r"^[a-z0-9.-]+(/[a-z0-9._-]+)+:v?\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEADER = re.compile(r"^X-[A-Za-z0-9-]{3,40}$")


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    cpu: int  # Fargate CPU units of one task (app + sidecar)
    memory_mib: int
    # Production runs at least one task per AZ (3) so an AZ loss leaves two serving (R1, R5).
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    memory_target_percent: int
    requests_per_target: int  # ALB requests per task per minute before scaling out
    # Used when no `domain` is configured: an existing ACM certificate in eu-central-1.
    certificate_arn: str = PLACEHOLDER_CERTIFICATE_ARN
    # ADOT collector sidecar receiving the X-Ray SDK's segments (UDP 2000) and sending them to X-Ray.
    # The upstream source, mirrored into private ECR at deploy (service/tracing_sidecar/Dockerfile).
    tracing_sidecar_image: str = "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"
    # The multi-arch index digest of that tag. No public source we could check states it, so it is
    # not guessed: a deploy refuses to start until it is set (the review synth leaves it empty). Get it with
    #   docker buildx imagetools inspect public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0
    tracing_sidecar_digest: str = ""
    # The header CloudFront adds on origin requests; the ALB forwards only when it carries the secret.
    origin_header_name: str = "X-Origin-Verify"

    def validate(self, is_production: bool) -> None:
        if self.cpu not in FARGATE_MEMORY:
            raise ConfigError("app.cpu", f"{self.cpu} is not a Fargate CPU size", ", ".join(map(str, FARGATE_MEMORY)))
        if self.memory_mib not in FARGATE_MEMORY[self.cpu]:
            raise ConfigError(
                "app.memory_mib", f"{self.memory_mib} MiB does not fit {self.cpu} CPU units", ", ".join(map(str, FARGATE_MEMORY[self.cpu]))
            )
        require_range("app.min_tasks", self.min_tasks, 1, 100)
        if is_production and self.min_tasks < 3:
            raise ConfigError("app.min_tasks", f"{self.min_tasks} is fewer than one task per AZ in production", "3 or more in production")
        require_range("app.max_tasks", self.max_tasks, self.min_tasks, 200)
        require_range("app.cpu_target_percent", self.cpu_target_percent, 10, 90)
        require_range("app.memory_target_percent", self.memory_target_percent, 10, 90)
        require_range("app.requests_per_target", self.requests_per_target, 1, 100000)
        if not _CERTIFICATE_ARN.match(self.certificate_arn):
            raise ConfigError(
                "app.certificate_arn",
                f"{self.certificate_arn!r} is not an ACM certificate ARN in eu-central-1",
                "arn:aws:acm:eu-central-1:<account>:certificate/<uuid>",
            )
        if not _IMAGE.match(self.tracing_sidecar_image):
            raise ConfigError(
                "app.tracing_sidecar_image", f"{self.tracing_sidecar_image!r} is not pinned", "registry/repository:<x.y.z>[@sha256:<digest>]"
            )
        if self.tracing_sidecar_digest and not _DIGEST.match(self.tracing_sidecar_digest):
            raise ConfigError(
                "app.tracing_sidecar_digest", f"{self.tracing_sidecar_digest!r} is not an image digest", "sha256: followed by 64 hex digits"
            )
        if "@" in self.tracing_sidecar_image:
            raise ConfigError("app.tracing_sidecar_image", f"{self.tracing_sidecar_image!r} carries a digest", "registry/repository:<x.y.z>")
        if not _HEADER.match(self.origin_header_name):
            raise ConfigError(
                "app.origin_header_name", f"{self.origin_header_name!r} is not a custom header name", "X- followed by 3-40 letters, digits, hyphens"
            )

    @property
    def tracing_sidecar_source(self) -> str:
        """The upstream image the private mirror is built from: tag plus digest when set."""
        if not self.tracing_sidecar_digest:
            return self.tracing_sidecar_image
        return f"{self.tracing_sidecar_image}@{self.tracing_sidecar_digest}"

    @property
    def has_placeholder_certificate(self) -> bool:
        return self.certificate_arn == PLACEHOLDER_CERTIFICATE_ARN


# Task size and requests_per_target from `make bench-service` (docs/service.md, "Capacity"; run of
# 2026-12-04 19:58 UTC on a quiet 2-CPU machine, one service process pinned to one core):
#   highest server CPU per request 3.1 ms (get record, cache miss / hit, c=1; 1.6-2.9 ms under load);
#   1 vCPU less 10 % for the X-Ray sidecar: 0.9 x 1000 / 3.1 = 290 requests/s of CPU capacity;
#   p99 < 100 ms needs the single event loop at <= 60 % (queueing, with ~50 ms kept for the
#   PostgreSQL/Redis/S3 round trips): 175 requests/s; halved for a minute's peaks and the 1-2 minutes
#   a new task needs to become healthy: ~85 requests/s = 5,000 requests per task per minute (the ALB's
#   RequestCountPerTarget is a per-minute count). Measured at that load: p99 6-9 ms (c=1, 230-300
#   requests/s); p99 stays under 100 ms up to ~400 requests/s except cache-miss gets at c=16 (102 ms).
#   1 vCPU / 2 GiB: one event loop uses one vCPU; the sandbox's 0.25 vCPU holds a quarter (1,200).
#   Not verified: a Fargate Graviton vCPU instead of this x86 core, real Aurora/ElastiCache latency.
PRODUCTION = AppConfig(
    cpu=1024, memory_mib=2048, min_tasks=3, max_tasks=30, cpu_target_percent=60, memory_target_percent=70, requests_per_target=5000
)
SANDBOX = AppConfig(cpu=256, memory_mib=512, min_tasks=1, max_tasks=2, cpu_target_percent=70, memory_target_percent=80, requests_per_target=1200)
