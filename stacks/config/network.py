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
    # 3 in production (one per AZ: an AZ loss does not cut the others' egress); 1 in sandbox (cost).
    nat_gateways: int
    # Interface endpoints are billed per AZ-hour; sandbox places them in fewer AZs (cross-AZ still works).
    interface_endpoint_azs: int = 3
    # AWS-managed prefix list com.amazonaws.global.cloudfront.origin-facing in the primary region
    # (eu-central-1: pl-a3a144ca). Verify with: aws ec2 describe-managed-prefix-lists --region eu-central-1
    cloudfront_prefix_list_id: str = "pl-a3a144ca"
    # AWS-managed prefix list of the S3 gateway endpoint's service, com.amazonaws.eu-central-1.s3
    # (eu-central-1: pl-6ea54007): egress to S3 (ECR image layers, CloudFormation's custom-resource
    # response URL) through the gateway endpoint, not to any HTTPS host. Verify with:
    # aws ec2 describe-managed-prefix-lists --region eu-central-1 --filters Name=prefix-list-name,Values=com.amazonaws.eu-central-1.s3
    s3_prefix_list_id: str = "pl-6ea54007"
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
        if not re.fullmatch(r"pl-[0-9a-f]{8,17}", self.cloudfront_prefix_list_id):
            raise ConfigError(
                "network.cloudfront_prefix_list_id", f"{self.cloudfront_prefix_list_id!r} is not a prefix list ID", "pl- followed by 8-17 hex digits"
            )
        if not re.fullmatch(r"pl-[0-9a-f]{8,17}", self.s3_prefix_list_id):
            raise ConfigError("network.s3_prefix_list_id", f"{self.s3_prefix_list_id!r} is not a prefix list ID", "pl- followed by 8-17 hex digits")
        require_range("network.app_port", self.app_port, 1024, 65535)


PRODUCTION = NetworkConfig(
    vpc_cidr="10.20.0.0/16",
    availability_zones=("eu-central-1a", "eu-central-1b", "eu-central-1c"),
    nat_gateways=3,
)

SANDBOX = NetworkConfig(
    vpc_cidr="10.120.0.0/16",
    availability_zones=("eu-central-1a", "eu-central-1b", "eu-central-1c"),
    nat_gateways=1,
    interface_endpoint_azs=1,
)
