"""A small hand-written cloud assembly shaped like ``cdk synth``'s (nested stage, manifests, templates),
so the sandbox tools are tested without synthesizing the app; tests/tools/test_assembly.py checks the
same readers against the real synthesized Sandbox stage."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "123456789012"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
LAYER = "arn:aws:lambda:eu-central-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:27"
SSO_ROLES = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*"


def _fn(reserved: int) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": reserved, "Layers": [LAYER]}}


def _vault(name: str) -> dict[str, Any]:
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["backup:DeleteRecoveryPoint"],
        "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": [SSO_ROLES]}},
    }
    return {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": name, "AccessPolicy": {"Statement": [deny]}}}


STACKS: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "SandboxKeys": ("eu-central-1", [], {"Key": {"Type": "AWS::KMS::Key"}}),
    "SandboxNetwork": (
        "eu-central-1",
        ["SandboxKeys"],
        {
            "Vpc": {"Type": "AWS::EC2::VPC"},
            "Eip": {"Type": "AWS::EC2::EIP"},
            "Nat": {"Type": "AWS::EC2::NatGateway"},
            "AlbSg": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"SourcePrefixListId": "pl-a3a144ca"}},
        },
    ),
    "SandboxData": ("eu-central-1", ["SandboxNetwork", "SandboxKeys"], {"Macie": {"Type": "AWS::Macie::Session"}, "Fn": _fn(2)}),
    "SandboxAudit": (
        "eu-central-1",
        ["SandboxData"],
        {
            "Recorder": {
                "Type": "AWS::Config::ConfigurationRecorder",
                "Properties": {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"},
            },
            "Detector": {"Type": "AWS::GuardDuty::Detector"},
            "Fn1": _fn(5),
            "Fn2": _fn(5),
        },
    ),
    "SandboxEdgeGlobal": ("us-east-1", [], {"Cert": {"Type": "AWS::CertificateManager::Certificate"}}),
    "SandboxEdge": (
        "eu-central-1",
        ["SandboxEdgeGlobal", "SandboxData"],
        {"Alias": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": ZONE_ID, "Name": "sbx.medivault-demo.de."}}},
    ),
    "SandboxDrVault": ("eu-west-1", [], {"Vault": _vault("medivault-sandbox-dr")}),
    "SandboxBackup": ("eu-central-1", ["SandboxDrVault", "SandboxData"], {"Vault": _vault("medivault-sandbox-primary"), "Fn": _fn(1)}),
}


def write_assembly(outdir: Path, stacks: dict[str, tuple[str, list[str], dict[str, Any]]] = STACKS, docker: bool = True) -> Path:
    nested = outdir / "assembly-Sandbox"
    nested.mkdir(parents=True)
    artifacts: dict[str, Any] = {}
    for artifact_id, (region, deps, resources) in stacks.items():
        (nested / f"{artifact_id}.template.json").write_text(json.dumps({"Resources": resources}))
        artifacts[f"{artifact_id}.assets"] = {"type": "cdk:asset-manifest", "properties": {"file": f"{artifact_id}.assets.json"}}
        images = {"img": {"source": {"directory": "asset.x", "platform": "linux/arm64"}}} if docker and artifact_id == "SandboxData" else {}
        (nested / f"{artifact_id}.assets.json").write_text(json.dumps({"files": {}, "dockerImages": images}))
        artifacts[artifact_id] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{ACCOUNT}/{region}",
            "properties": {
                "templateFile": f"{artifact_id}.template.json",
                "stackName": artifact_id.replace("Sandbox", "Sandbox-"),
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version",
            },
            "dependencies": [f"{artifact_id}.assets", *deps],
            "displayName": f"Sandbox/{artifact_id.removeprefix('Sandbox')}",
        }
    (nested / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    # As `cdk synth` writes it: the nested stage assembly has no displayName.
    top = {"assembly-Sandbox": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Sandbox"}}}
    (outdir / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": top}))
    return outdir


@pytest.fixture
def fake_assembly(tmp_path: Path) -> Path:
    return write_assembly(tmp_path / "cdk.out.sandbox")


@pytest.fixture
def aws_credentials() -> Iterator[None]:
    """moto needs some credentials; never real ones."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-central-1")
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
