"""Network settings (R1, R2): CIDR, the three Availability Zones, NAT gateways, endpoints."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_private_cidr, require_range


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    vpc_cidr: str
    # Given here, never looked up: synth runs offline (no credentials, no AZ lookups).
    availability_zones: tuple[str, ...]
    # NAT carries one flow only: the DR-readiness check's HTTPS to AWS Backup in the DR region
    # (no PrivateLink endpoint reaches another region's Backup API). Every other security group
    # denies internet egress, so one NAT gateway suffices in both environments
    # (docs/well-architected.md, security: "Egress"; docs/assumptions.md).
    nat_gateways: int
    # Interface endpoints are billed per AZ-hour; sandbox places them in fewer AZs (cross-AZ still works).
    interface_endpoint_azs: int = 3
    # AWS-managed prefix list com.amazonaws.global.cloudfront.origin-facing in the primary region
    # (eu-central-1: pl-a3a144ca). Verify with: aws ec2 describe-managed-prefix-lists --region eu-central-1
    cloudfront_prefix_list_id: str = "pl-a3a144ca"
    # AWS-managed prefix lists of the S3 and DynamoDB gateway endpoints in the primary region. They
    # are owned by AWS (arn:aws:ec2:<region>:aws:prefix-list/<id>), the same for every account in a
    # region. Verify with: aws ec2 describe-managed-prefix-lists --region eu-central-1
    #   --filters Name=prefix-list-name,Values=com.amazonaws.eu-central-1.s3,com.amazonaws.eu-central-1.dynamodb
    s3_prefix_list_id: str = "pl-6ea54007"
    dynamodb_prefix_list_id: str = "pl-66a5400f"
    # The port the app container listens on (ALB -> app).
    app_port: int = 8080

    def validate(self, region: str) -> None:
        require_private_cidr("network.vpc_cidr", self.vpc_cidr, 16, 20)
        azs = self.availability_zones
        if len(azs) != 3 or len(set(azs)) != 3:
            raise ConfigError(
                "network.availability_zones",
                f"{list(azs)!r} is not three distinct zones",
                f"exactly three of {region}a, {region}b, {region}c",
            )
        for az in azs:
            if not (az.startswith(region) and len(az) == len(region) + 1 and az[-1].isalpha()):
                raise ConfigError("network.availability_zones", f"{az!r} is not a zone of {region}", f"{region}a, {region}b, {region}c")
        require_range("network.nat_gateways", self.nat_gateways, 1, 3)
        require_range("network.interface_endpoint_azs", self.interface_endpoint_azs, 1, 3)
        prefix_lists = {
            "network.cloudfront_prefix_list_id": self.cloudfront_prefix_list_id,
            "network.s3_prefix_list_id": self.s3_prefix_list_id,
            "network.dynamodb_prefix_list_id": self.dynamodb_prefix_list_id,
        }
        for key, value in prefix_lists.items():
            if not re.fullmatch(r"pl-[0-9a-f]{8,17}", value):
                raise ConfigError(key, f"{value!r} is not a prefix list ID", "pl- followed by 8-17 hex digits")
        if len(set(prefix_lists.values())) != len(prefix_lists):
            raise ConfigError("network.s3_prefix_list_id", "the CloudFront, S3 and DynamoDB prefix lists are not distinct", "three different IDs")
        require_range("network.app_port", self.app_port, 1024, 65535)


PRODUCTION = NetworkConfig(
    vpc_cidr="10.20.0.0/16",
    availability_zones=("eu-central-1a", "eu-central-1b", "eu-central-1c"),
    nat_gateways=1,
)

SANDBOX = NetworkConfig(
    vpc_cidr="10.120.0.0/16",
    availability_zones=("eu-central-1a", "eu-central-1b", "eu-central-1c"),
    nat_gateways=1,
    interface_endpoint_azs=1,
)
