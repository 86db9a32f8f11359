"""Delivery-pipeline settings (R16): the tooling account, the repository connection, notifications.

The pipeline is not part of an environment: it lives in its own delivery/tooling account and
deploys both environments (sandbox, then production after a manual approval). Review synth uses
the placeholders below; a pipeline whose connection is the placeholder refuses to deploy
(``constructs.deploy_guard.refuse_deploy``), because CodePipeline could not fetch any source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_account, require_email, require_log_retention, require_one_of

# Documented review placeholders (docs/assumptions.md): not a real account, not a real connection.
PLACEHOLDER_TOOLING_ACCOUNT = "444444444444"
PLACEHOLDER_CONNECTION_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_CONNECTION_ARN = f"arn:aws:codeconnections:eu-central-1:{PLACEHOLDER_TOOLING_ACCOUNT}:connection/{PLACEHOLDER_CONNECTION_ID}"

# CodeConnections (formerly CodeStar Connections) ARNs; both service prefixes are still issued.
_CONNECTION_ARN = re.compile(r"^arn:aws:(codeconnections|codestar-connections):([a-z]{2}-[a-z]+-\d):(\d{12}):connection/[0-9a-f-]{36}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# A git branch name (git check-ref-format, simplified): no spaces, no "..", no leading "-" or "/".
_BRANCH = re.compile(r"^(?!-)(?!/)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<!/)(?<!\.lock)$")
PIPELINE_REGIONS = ("eu-central-1",)
# IAM path of the pipeline's own roles (pipeline role, self-mutation role). The organisation's region
# SCP lets roles under this path use S3/KMS in us-east-1 (the artifact replication bucket there), and
# MediVault-ProtectPrivilegedRoles lets only the CDK deployment role create or change them.
DELIVERY_ROLE_PATH = "/medivault-delivery/"


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    # The delivery/tooling account that runs the pipeline; the target accounts trust it (cdk bootstrap --trust).
    account: str
    region: str = "eu-central-1"
    # CodeConnections connection to the Git host (created once in the console, then authorised by a human).
    connection_arn: str
    # "owner/name" on the Git host, and the branch whose every push runs the pipeline.
    repository: str
    branch: str
    # Pipeline failures (and manual approvals waiting) go to this address through an encrypted SNS topic.
    notification_email: str
    # CodeBuild logs are the evidence that every change was tested and scanned (R16): kept two years.
    log_retention_days: int = 731
    # Name of the CodePipeline pipeline (visible in the console and in CloudTrail).
    pipeline_name: str = "medivault-eu"

    def validate(self) -> None:
        require_account("pipeline.account", self.account)
        require_one_of("pipeline.region", self.region, PIPELINE_REGIONS)
        match = _CONNECTION_ARN.match(self.connection_arn)
        if not match:
            raise ConfigError(
                "pipeline.connection_arn",
                f"{self.connection_arn!r} is not a CodeConnections connection ARN",
                "arn:aws:codeconnections:<region>:<12 digits>:connection/<uuid>",
            )
        if match.group(3) != self.account:
            raise ConfigError(
                "pipeline.connection_arn",
                f"the connection belongs to account {match.group(3)}",
                f"a connection in the tooling account {self.account}",
            )
        if not _REPOSITORY.match(self.repository):
            raise ConfigError("pipeline.repository", f"{self.repository!r} is not owner/name", "e.g. medivault/medivault-eu")
        if not _BRANCH.match(self.branch):
            raise ConfigError("pipeline.branch", f"{self.branch!r} is not a git branch name", "e.g. main or release/2026")
        require_email("pipeline.notification_email", self.notification_email)
        require_log_retention("pipeline.log_retention_days", self.log_retention_days)
        if self.log_retention_days < 365:
            raise ConfigError("pipeline.log_retention_days", f"{self.log_retention_days} is below one year", "365 or more (R16 evidence)")
        if not re.fullmatch(r"[A-Za-z0-9.@_-]{1,100}", self.pipeline_name):
            raise ConfigError("pipeline.pipeline_name", f"{self.pipeline_name!r} is not a CodePipeline name", "1-100 of A-Z a-z 0-9 . @ _ -")

    def __post_init__(self) -> None:
        self.validate()

    @property
    def is_placeholder(self) -> bool:
        """True for the review configuration: deploying it must fail before anything is created."""
        return self.connection_arn.endswith(PLACEHOLDER_CONNECTION_ID) or self.account == PLACEHOLDER_TOOLING_ACCOUNT


def tooling(account: str = PLACEHOLDER_TOOLING_ACCOUNT, connection_arn: str | None = None) -> PipelineConfig:
    """The delivery pipeline of MediVault EU (review placeholders unless an account/connection is given)."""
    return PipelineConfig(
        account=account,
        connection_arn=connection_arn or f"arn:aws:codeconnections:eu-central-1:{account}:connection/{PLACEHOLDER_CONNECTION_ID}",
        repository="medivault/medivault-eu",
        branch="main",
        notification_email="ops@medivault.example",
    )
