"""The cost and compliance pages stay true to the synthesized app.

- docs/compliance.md classifies every AWS service the app creates resources of (HIPAA-eligible or
  not, holds PHI or never): a new service in the templates without a row fails here. The list it is
  checked against is https://aws.amazon.com/compliance/hipaa-eligible-services-reference/ (by hand:
  the page cannot be fetched offline).
- README's cost figures are the model's, rounded (tools/report/cost.py ``rounded``).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Synthesized
from tools.assembly import stacks as assembly_stacks
from tools.report import cost

ROOT = Path(__file__).resolve().parents[3]

# CloudFormation namespace -> the name its row in docs/compliance.md carries.
SERVICE_ROWS = {
    "ApplicationAutoScaling": "Application Auto Scaling",
    "Backup": "AWS Backup",
    "CloudFront": "Amazon CloudFront",
    "CloudTrail": "AWS CloudTrail",
    "CloudWatch": "Amazon CloudWatch",
    "Cognito": "Amazon Cognito",
    "Logs": "Amazon CloudWatch",
    "CodeBuild": "CodeBuild",
    "CodePipeline": "AWS CodePipeline",
    "CodeStarNotifications": "CodeStar Notifications",
    "Config": "AWS Config",
    "DynamoDB": "Amazon DynamoDB",
    "EC2": "Amazon VPC",
    "ECS": "Amazon ECS on AWS Fargate",
    "ElastiCache": "Amazon ElastiCache",
    "ElasticLoadBalancingV2": "Elastic Load Balancing",
    "Events": "Amazon EventBridge",
    "GuardDuty": "Amazon GuardDuty",
    "IAM": "IAM",
    "KMS": "AWS KMS",
    "Lambda": "AWS Lambda",
    "Macie": "Amazon Macie",
    "Organizations": "AWS Organizations",
    "RDS": "Amazon Aurora PostgreSQL",
    "S3": "Amazon S3",
    "SecretsManager": "AWS Secrets Manager",
    "Serverless": "AWS Serverless Application Repository",
    "SNS": "Amazon SNS",
    "SQS": "Amazon SQS",
    "SSM": "AWS Systems Manager",
    "SSO": "IAM Identity Center",
    "WAFv2": "AWS WAF",
    "XRay": "AWS X-Ray",
    "CertificateManager": "AWS Certificate Manager",
    "Route53": "Amazon Route 53",
    "ECR": "Amazon ECR",
    "AuditManager": "AWS Audit Manager",
}


def _service_table() -> str:
    text = (ROOT / "docs" / "compliance.md").read_text()
    start = text.index("### HIPAA-eligible services")
    return text[start : text.index("### Safeguards", start)]


def test_every_service_in_the_templates_has_a_row_in_the_compliance_page(synth: Synthesized) -> None:
    namespaces = {
        r["Type"].split("::")[1] for s in assembly_stacks(synth.outdir) for r in s.resources().values() if r["Type"].startswith("AWS::")
    } - {"CDK"}
    unknown = namespaces - set(SERVICE_ROWS)
    assert not unknown, f"classify {sorted(unknown)} in docs/compliance.md (HIPAA-eligible? holds PHI?) and add them here"
    rows = [line for line in _service_table().splitlines() if line.startswith("| ") and not line.startswith("| service")]
    for namespace in namespaces:
        row = next((r for r in rows if SERVICE_ROWS[namespace] in r.split("|")[1]), None)
        assert row is not None, f"{namespace}: no row naming {SERVICE_ROWS[namespace]!r}"
        _, _, _, eligible, phi, _ = row.split("|")
        assert eligible.strip() and phi.strip(), row
    # The PHI stores are marked as holding PHI.
    for name in ("Amazon S3", "Amazon Aurora PostgreSQL", "Amazon ElastiCache", "AWS Backup", "Amazon Cognito"):
        row = next(r for r in rows if name in r.split("|")[1])
        assert "**yes**" in row.split("|")[4], row


def test_readme_quotes_the_cost_model(synth: Synthesized) -> None:
    found = assembly_stacks(synth.outdir)
    summary = cost.summary(found)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## What it costs") :]
    day = summary.sandbox_day
    idle_row = next(line for line in section.splitlines() if line.startswith("| idle:"))
    assert re.findall(r"≈ ([\d,]+)", idle_row) == [f"{cost.rounded(day.idle):,}", f"{cost.rounded(summary.sandbox_month_idle):,}"]
    in_use_row = next(line for line in section.splitlines() if line.startswith("| in use:"))
    assert re.findall(r"≈ ([\d,]+)", in_use_row) == [f"{cost.rounded(day.in_use):,}", f"{cost.rounded(summary.sandbox_month_in_use):,}"]
    total_row = next(line for line in section.splitlines() if line.startswith("| **total**"))
    assert re.findall(r"≈ ([\d,]+)", total_row) == [
        f"{cost.rounded(summary.sandbox_month_in_use):,}",
        f"{cost.rounded(summary.production_month.total):,}",
    ]
