"""Coverage: every resource type in the assembly has a rehearsal decision — the checks that apply to
it, or why none does. A new type fails this test until someone decides (and researches) what AWS
requires of it at deploy, update and delete time."""

from __future__ import annotations

from tests.deploy import test_limits, test_order
from tests.deploy.key_requests import KINDS
from tests.deploy.model import Assembly

RUNTIME = {"image-pulls", "task-secrets", "task-logs", "lambda-logs-dlq", "restore-metadata", "lambda-unscoped"}

COVERAGE: dict[str, list[str] | str] = {
    # ---- checked ----
    "AWS::CertificateManager::Certificate": "DNS-validated public certificate: CloudFormation waits until ACM finds the "
    "validation record, which it writes into the configured hosted zone itself (the zone's existence is a preflight check, "
    "tools/sandbox/preflight.py); no key, resource policy or cross-resource order beyond the Ref to the zone",
    "AWS::Route53::RecordSet": "alias records in the configured hosted zone, ordered by Ref/GetAtt to the distribution or "
    "load balancer they name; the zone is a preflight check; no key or policy",
    "AWS::SSM::Parameter": "a plain String parameter (the distribution ID the origin-header rotation reads): no KMS key, "
    "no resource policy, ordered by its Ref to the distribution",
    "AWS::Config::ConfigurationRecorder": [
        "order:config-recorder-and-delivery-channel-together",
        "singleton:AWS::Config::ConfigurationRecorder",
        "name:AWS::Config::ConfigurationRecorder",
    ],
    "AWS::Config::DeliveryChannel": [
        "order:config-recorder-and-delivery-channel-together",
        "order:config-delivery-channel-after-bucket-policy",
        "keys:config",
        "singleton:AWS::Config::DeliveryChannel",
    ],
    "AWS::Config::ConfigRule": [
        "order:config-rule-after-recording",
        "order:config-custom-rule-after-lambda-permission",
        "quota:config-rules-per-region",
        "name:AWS::Config::ConfigRule",
    ],
    "AWS::Config::RemediationConfiguration": ["order:config-remediation-after-rule"],
    "AWS::CloudTrail::Trail": [
        "order:cloudtrail-after-bucket-and-key-policy",
        "keys:cloudtrail",
        "keys:cloudtrail-describe",
        "quota:trails-per-region",
        "name:AWS::CloudTrail::Trail",
    ],
    "AWS::Backup::BackupPlan": ["order:backup-copy-after-destination-vault", "keys:backup-copy", "name:AWS::Backup::BackupPlan"],
    "AWS::Backup::BackupSelection": ["order:backup-selection-after-plan-and-role"],
    "AWS::Backup::BackupVault": ["keys:service-creation", "name:AWS::Backup::BackupVault", "delete:vaults", "delete:stateful"],
    "AWS::Backup::Framework": ["order:backup-framework-after-config-recording", "name:AWS::Backup::Framework"],
    "AWS::Backup::RestoreTestingPlan": ["name:AWS::Backup::RestoreTestingPlan"],
    "AWS::Backup::RestoreTestingSelection": ["order:backup-restore-testing-selection-after-plan", "runtime:restore-metadata"],
    "AWS::GuardDuty::Detector": ["singleton:AWS::GuardDuty::Detector", "runtime:image-pulls"],
    "AWS::Macie::Session": ["singleton:AWS::Macie::Session"],
    "AWS::Macie::CustomDataIdentifier": ["order:macie-identifier-after-session", "name:AWS::Macie::CustomDataIdentifier"],
    "Custom::MacieClassificationJob": ["order:macie-job-after-session", "order:custom-resource-after-provider-policy"],
    "Custom::VpcRestrictDefaultSG": ["order:custom-resource-after-provider-policy"],
    # The deploy-time schema migration; its order after the cluster, instances and secret attachment is
    # asserted in tests/stacks/test_database_migration.py (the ECS task needs a writer to log in to).
    "Custom::DatabaseMigrations": ["order:custom-resource-after-provider-policy"],
    "AWS::SecretsManager::RotationSchedule": ["order:rotation-after-lambda-permission"],
    "AWS::SecretsManager::Secret": ["keys:service-creation", "runtime:task-secrets", "name:AWS::SecretsManager::Secret"],
    "AWS::WAFv2::LoggingConfiguration": ["order:waf-logging-after-log-group-and-resource-policy"],
    "AWS::WAFv2::WebACL": ["quota:waf-web-acls", "name:AWS::WAFv2::WebACL"],
    "AWS::Cognito::UserPool": ["delete:stateful"],
    "AWS::Cognito::UserPoolClient": "ordered by its Ref to the user pool; no key, policy or quota at our scale (one client per pool)",
    "AWS::Cognito::UserPoolGroup": "ordered by its Ref to the user pool; two groups of the 10,000-per-pool quota",
    "AWS::Cognito::UserPoolRiskConfigurationAttachment": (
        "ordered by its Ref to the pool; needs the Plus feature plan with threat protection on the pool itself "
        "(UserPoolTier PLUS, AdvancedSecurityMode ENFORCED), asserted in tests/constructs/test_user_pool.py"
    ),
    "AWS::WAFv2::IPSet": "self-contained REGIONAL IP set (the VPC CIDR), referenced by the user pool's web ACL",
    "AWS::WAFv2::WebACLAssociation": (
        "ordered by GetAtt to the REGIONAL web ACL and the user pool; AssociateWebACL can return "
        "WAFUnavailableEntityException until a new web ACL has propagated (Cognito developer guide, user-pool-waf.html): "
        "only a deploy shows whether CloudFormation's handler retries it (docs/deploy.md)"
    ),
    "AWS::Logs::ResourcePolicy": ["order:waf-logging-after-log-group-and-resource-policy"],
    "AWS::ECS::Service": ["order:ecs-service-after-listener"],
    "AWS::ECS::TaskDefinition": ["runtime:image-pulls", "runtime:task-secrets", "runtime:task-logs"],
    "AWS::Lambda::Function": ["order:lambda-in-vpc-after-eni-policy", "keys:lambda-dlq", "runtime:lambda-logs-dlq", "runtime:lambda-unscoped"],
    "AWS::Lambda::Permission": ["order:config-custom-rule-after-lambda-permission", "order:rotation-after-lambda-permission"],
    "AWS::Logs::LogGroup": ["keys:logs", "runtime:task-logs", "runtime:lambda-logs-dlq", "name:AWS::Logs::LogGroup"],
    "AWS::SNS::Topic": ["keys:eventbridge-sns", "keys:alarm-sns"],
    "AWS::SNS::TopicPolicy": ["keys:eventbridge-sns"],
    "AWS::SQS::Queue": ["keys:eventbridge-dlq", "keys:lambda-dlq", "runtime:lambda-logs-dlq"],
    "AWS::SQS::QueuePolicy": ["keys:eventbridge-dlq", "keys:lambda-dlq"],
    "AWS::S3::Bucket": ["keys:cloudtrail", "keys:config", "keys:cloudfront-logs", "name:AWS::S3::Bucket", "delete:buckets", "delete:stateful"],
    "AWS::S3::BucketPolicy": ["keys:cloudtrail", "keys:config", "order:cloudtrail-after-bucket-and-key-policy"],
    "AWS::KMS::Key": ["keys:logs", "keys:service-creation", "keys:pinned", "keys:admin", "delete:stateful"],
    "AWS::KMS::Alias": ["name:AWS::KMS::Alias"],
    "AWS::Events::Rule": ["keys:eventbridge-sns", "keys:eventbridge-dlq", "quota:event-rules-per-bus"],
    "AWS::CloudWatch::Alarm": ["keys:alarm-sns"],
    "AWS::CloudWatch::CompositeAlarm": ["keys:alarm-sns"],
    "AWS::CloudFront::Distribution": ["keys:cloudfront-logs", "quota:cloudfront-distributions"],
    "AWS::RDS::DBCluster": ["keys:service-creation", "runtime:restore-metadata", "delete:stateful"],
    "AWS::ElastiCache::ReplicationGroup": ["keys:service-creation"],
    "AWS::DynamoDB::Table": ["keys:service-creation"],
    "AWS::EC2::VPC": ["quota:vpcs-per-region"],
    "AWS::EC2::EIP": ["quota:elastic-ips-per-region"],
    "AWS::EC2::NatGateway": ["quota:nat-gateways-per-az"],
    "AWS::EC2::InternetGateway": ["quota:internet-gateways-per-region"],
    "AWS::EC2::VPCEndpoint": ["quota:interface-endpoints-per-vpc", "quota:gateway-endpoints-per-region"],
    "AWS::EC2::SecurityGroup": ["quota:security-groups-per-region"],
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ["quota:albs-per-region"],
    "AWS::ElasticLoadBalancingV2::Listener": ["order:ecs-service-after-listener"],
    "AWS::ElasticLoadBalancingV2::ListenerRule": ["order:ecs-service-after-listener"],
    "AWS::ElasticLoadBalancingV2::TargetGroup": ["order:ecs-service-after-listener"],
    "AWS::IAM::Role": ["runtime:image-pulls", "runtime:lambda-unscoped", "name:AWS::IAM::Role"],
    "AWS::IAM::ManagedPolicy": ["order:custom-resource-after-provider-policy", "order:lambda-in-vpc-after-eni-policy", "runtime:lambda-unscoped"],
    # ---- no rehearsal check, and why ----
    "AWS::ApplicationAutoScaling::ScalableTarget": "references the ECS service by name (Ref orders it); no key, quota or singleton at our scale",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "references its scalable target (Ref orders it); nothing else AWS checks at create",
    "AWS::CloudFront::ResponseHeadersPolicy": "self-contained; referenced by the distribution (Ref orders it)",
    "AWS::CloudWatch::Dashboard": "no dependencies AWS validates (a widget on a missing metric renders empty)",
    "AWS::EC2::FlowLog": "the log group and role are referenced (Ref/GetAtt order them); the log group's key is covered by keys:logs",
    "AWS::EC2::NetworkAcl": "plain VPC child, ordered by its VpcId Ref",
    "AWS::EC2::NetworkAclEntry": "plain ACL child, ordered by its NetworkAclId Ref (the rule-count quota of 20 is far away)",
    "AWS::EC2::Route": "CDK orders routes after the IGW attachment / NAT gateway (DependsOn)",
    "AWS::EC2::RouteTable": "plain VPC child, ordered by its VpcId Ref",
    "AWS::EC2::SecurityGroupEgress": "ordered by its group Refs; the egress semantics are the network helper's security-group tests",
    "AWS::EC2::SecurityGroupIngress": "ordered by its group Refs; the rule semantics are the network helper's security-group tests",
    "AWS::EC2::Subnet": "plain VPC child, ordered by its VpcId Ref; AZs come from config",
    "AWS::EC2::SubnetNetworkAclAssociation": "ordered by its subnet and ACL Refs",
    "AWS::EC2::SubnetRouteTableAssociation": "ordered by its subnet and route-table Refs",
    "AWS::EC2::VPCGatewayAttachment": "ordered by its VPC and gateway Refs",
    "AWS::ECS::Cluster": "self-contained (Container Insights is a setting)",
    "AWS::ElastiCache::SubnetGroup": "ordered by its subnet Refs",
    "AWS::Logs::MetricFilter": "ordered by its log group Ref",
    "AWS::RDS::DBClusterParameterGroup": "self-contained; referenced by the cluster",
    "AWS::RDS::DBInstance": "ordered by its cluster Ref; encryption is the cluster's (keys:service-creation)",
    "AWS::RDS::DBSubnetGroup": "ordered by its subnet Refs",
    "AWS::SNS::Subscription": "e-mail subscriptions wait for confirmation; nothing AWS validates at create beyond the topic Ref",
    "AWS::SecretsManager::ResourcePolicy": "ordered by its secret Ref (BlockPublicPolicy is validated on the document itself)",
    "AWS::SecretsManager::SecretTargetAttachment": "ordered by its secret and cluster Refs",
    "AWS::Serverless::Application": "SAR rotation app: its nested stack grants its own invoke permission (order:rotation-after-lambda-permission)",
    "AWS::XRay::Group": "self-contained (a filter expression, no references)",
    "AWS::XRay::SamplingRule": "self-contained (matching rules, no references)",
    "AWS::Organizations::OrganizationalUnit": "organisation stage: the guardrails helper's tests/deploy/test_guardrails*.py",
    "AWS::Organizations::Policy": "organisation stage: the guardrails helper's tests/deploy/test_guardrails*.py",
    "AWS::SSO::Assignment": "organisation stage: the guardrails helper's tests/deploy/test_guardrails*.py",
    "AWS::SSO::PermissionSet": "organisation stage: the guardrails helper's tests/deploy/test_guardrails*.py",
}


def known_checks() -> set[str]:
    checks = {f"order:{r.id}" for r in test_order.REQUIREMENTS}
    checks |= {f"keys:{k}" for k in KINDS} | {"keys:pinned", "keys:admin"}
    checks |= {f"quota:{q.id}" for q in test_limits.QUOTAS}
    checks |= {f"singleton:{s.type}" for s in test_limits.SINGLETONS}
    checks |= {f"name:{t}" for t in test_limits.NAMED}
    checks |= {f"runtime:{r}" for r in RUNTIME}
    checks |= {"delete:buckets", "delete:vaults", "delete:stateful"}
    return checks


def test_every_resource_type_has_a_rehearsal_decision(assembly: Assembly) -> None:
    present = {r.type for r in assembly.resources()}
    undecided = sorted(present - set(COVERAGE))
    assert not undecided, f"resource types with no rehearsal coverage decision (add checks or a reason to COVERAGE): {undecided}"


def test_coverage_names_only_real_checks() -> None:
    known = known_checks()
    for resource_type, decision in COVERAGE.items():
        if isinstance(decision, str):
            assert len(decision) > 20, f"{resource_type}: say why no check applies"
            continue
        unknown = [c for c in decision if c not in known]
        assert not unknown, f"{resource_type}: {unknown} are not rehearsal checks"
