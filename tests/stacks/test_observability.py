"""Observability (R13): ops pager, alarms, dashboard, X-Ray sampling."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template
from constructs.log_retention import retention
from constructs.medivault_function import MediVaultFunction

from stacks import config as cfg
from stacks.composition import new_app, populate
from stacks.observability_stack import ObservabilityStack
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R13")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lambda"


def test_ops_topic_encrypted_tls_only_and_pages_the_configured_email(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "observability")
    [key_id] = resources_of(template, "AWS::KMS::Key")
    [topic] = resources_of(template, "AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": cfg.load(environment, None).alarm_email})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])
            }
        },
    )


def test_alerts_key_lets_cloudwatch_publish_for_this_account_only(synth: Synthesized, environment: str) -> None:
    keys = resources_of(synth.template(environment, "observability"), "AWS::KMS::Key")
    assert len(keys) == 1
    statements = next(iter(keys.values()))["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert len(cloudwatch) == 1
    assert sorted(cloudwatch[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "aws:SourceAccount" in cloudwatch[0]["Condition"]["StringEquals"]


def test_sampling_rules_favour_auth_and_skip_health_checks(synth: Synthesized, environment: str) -> None:
    obs = cfg.load(environment, None).observability
    rules = [r["Properties"]["SamplingRule"] for r in resources_of(synth.template(environment, "observability"), "AWS::XRay::SamplingRule").values()]
    by_path = {r["URLPath"]: r for r in rules}
    assert set(by_path) == {*obs.health_paths, *obs.auth_paths, "*"}
    for path in obs.health_paths:
        assert by_path[path]["FixedRate"] == 0 and by_path[path]["ReservoirSize"] == 0
    for path in obs.auth_paths:
        assert by_path[path]["FixedRate"] == obs.sampling_auth_rate
    default = by_path["*"]
    assert default["FixedRate"] == obs.sampling_default_rate
    assert default["SamplingRateBoost"] == {"MaxRate": obs.sampling_boost_max_rate, "CooldownWindowMinutes": 5}
    # Specific rules win: health and auth rules are evaluated before the default.
    assert max(by_path[p]["Priority"] for p in (*obs.health_paths, *obs.auth_paths)) < default["Priority"]
    assert all(r["ServiceName"] == obs.xray_service_name for r in rules)


def test_xray_groups_for_the_service_and_its_errors(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "observability")
    name = cfg.load(environment, None).observability.xray_service_name
    template.has_resource_properties(
        "AWS::XRay::Group",
        {"FilterExpression": f'service("{name}")', "InsightsConfiguration": {"InsightsEnabled": True, "NotificationsEnabled": True}},
    )
    template.has_resource_properties("AWS::XRay::Group", {"FilterExpression": Match.string_like_regexp(r"error = true OR fault = true")})


def test_every_function_gets_error_throttle_and_dead_letter_alarms(tmp_path: Path) -> None:
    app = new_app(outdir=str(tmp_path))
    stage = populate(app, [cfg.load("sandbox", "123456789012")])["sandbox"]
    fn = MediVaultFunction(
        stage.network,
        "Echo",
        source="echo",
        source_root=FIXTURES,
        description="test function",
        vpc=stage.network.vpc,
        vpc_subnets=stage.network.app_subnets,
        security_group=stage.network.endpoint_security_group,
        logs_key=stage.keys.logs_key,
        queue_key=stage.keys.data_key,
        log_retention=retention(30),
        removal_policy=stage.config.removal_policy,
        powertools_layer_version=27,
    )
    stack = ObservabilityStack(
        stage,
        "ObservabilityUnderTest",
        config=stage.config,
        functions=[fn],
        database=stage.data.database,
        database_max_acu=stage.config.data.aurora_max_acu,
        cache_replication_group=stage.data.cache_replication_group,
        cache_nodes=1,
        load_balancer=stage.app.load_balancer,
        target_group=stage.app.target_group,
        service=stage.app.service,
        distribution=stage.edge.distribution,
        web_acl=stage.edge_global.web_acl,
    )
    app.synth()
    template = Template.from_stack(stack)
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    by_metric = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") in ("Errors", "Throttles", "ApproximateNumberOfMessagesVisible")
        and a["Properties"].get("Namespace") in ("AWS/Lambda", "AWS/SQS")
    }
    assert set(by_metric) == {"Errors", "Throttles", "ApproximateNumberOfMessagesVisible"}
    for props in by_metric.values():
        assert props["Threshold"] == 1
        assert props["EvaluationPeriods"] == 1 and props["DatapointsToAlarm"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        topic = [{"Ref": next(iter(resources_of(template, "AWS::SNS::Topic")))}]
        assert props["AlarmActions"] == topic and props["OKActions"] == topic and props["InsufficientDataActions"] == topic


def test_dashboard_exists_per_environment(synth: Synthesized, environment: str) -> None:
    synth.template(environment, "observability").has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": f"medivault-{environment}"})


def _alarms_by_metric(template: Template) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        found.setdefault(f"{props.get('Namespace')}/{props.get('MetricName')}", []).append(props)
    return found


def test_aurora_alarms_thresholds(synth: Synthesized, environment: str) -> None:
    config = cfg.load(environment, None)
    obs = config.observability
    alarms = _alarms_by_metric(synth.template(environment, "observability"))
    assert [a["Threshold"] for a in alarms["AWS/RDS/CPUUtilization"]] == [obs.aurora_cpu_percent]
    acu = alarms["AWS/RDS/ServerlessDatabaseCapacity"][0]
    assert acu["Threshold"] == round(config.data.aurora_max_acu * obs.aurora_acu_percent_of_max / 100, 2)
    assert acu["Statistic"] == "Maximum" and acu["Period"] == 300
    memory = alarms["AWS/RDS/FreeableMemory"][0]
    assert memory["Threshold"] == obs.aurora_freeable_memory_mib * 1024 * 1024
    assert memory["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert alarms["AWS/RDS/AuroraReplicaLagMaximum"][0]["Threshold"] == obs.aurora_replica_lag_ms
    for props in alarms["AWS/RDS/CPUUtilization"]:
        assert props["EvaluationPeriods"] == 5 and props["DatapointsToAlarm"] == 3


def test_cache_alarms_cover_every_node(synth: Synthesized, environment: str) -> None:
    config = cfg.load(environment, None)
    alarms = _alarms_by_metric(synth.template(environment, "observability"))
    nodes = 1 + config.data.cache_replicas
    memory = alarms["AWS/ElastiCache/DatabaseMemoryUsagePercentage"]
    evictions = alarms["AWS/ElastiCache/Evictions"]
    assert len(memory) == nodes and len(evictions) == nodes
    assert {a["Threshold"] for a in memory} == {config.observability.redis_memory_percent}
    suffixes = sorted(a["Dimensions"][0]["Value"]["Fn::Join"][1][1] for a in memory)
    assert suffixes == [f"{n:03d}" for n in range(1, nodes + 1)]


def test_request_and_service_alarms_feed_the_composite(synth: Synthesized, environment: str) -> None:
    obs = cfg.load(environment, None).observability
    template = synth.template(environment, "observability")
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    by_description = {a["Properties"]["AlarmDescription"]: (lid, a["Properties"]) for lid, a in alarms.items()}
    rate_lid, rate = next(v for d, v in by_description.items() if d.startswith("More than the allowed share of requests fail with 5xx"))
    assert rate["Threshold"] == obs.alb_5xx_rate_percent
    expression = next(m["Expression"] for m in rate["Metrics"] if "Expression" in m)
    assert expression == "100 * (FILL(e5, 0) + FILL(t5, 0)) / MAX([FILL(r, 0), 1])"
    p99_lid, p99 = next(v for d, v in by_description.items() if d.startswith("p99 target response time"))
    assert p99["ExtendedStatistic"] == "p99" and p99["Threshold"] == obs.p99_latency_seconds
    unhealthy_lid, unhealthy = next(v for d, v in by_description.items() if d.startswith("A task fails its /healthz"))
    assert unhealthy["MetricName"] == "UnHealthyHostCount" and unhealthy["Threshold"] == 1
    tasks_lid, tasks = next(v for d, v in by_description.items() if d.startswith("Fewer tasks running than desired"))
    assert {m.get("Expression") for m in tasks["Metrics"]} >= {"desired - running"}
    cpu = next(p for d, (_, p) in by_description.items() if d.startswith("Service CPU"))
    assert cpu["Threshold"] == obs.ecs_cpu_percent
    # The composite pages on any of the four user-facing signals.
    composite = next(iter(resources_of(template, "AWS::CloudWatch::CompositeAlarm").values()))["Properties"]
    rule = json.dumps(composite["AlarmRule"])
    for lid in (rate_lid, p99_lid, unhealthy_lid, tasks_lid):
        assert lid in rule
    topic = [{"Ref": next(iter(resources_of(template, "AWS::SNS::Topic")))}]
    assert composite["AlarmActions"] == topic and composite["OKActions"] == topic


def test_dashboard_tells_the_request_story(synth: Synthesized, environment: str) -> None:
    body = json.dumps(
        next(iter(resources_of(synth.template(environment, "observability"), "AWS::CloudWatch::Dashboard").values()))["Properties"]["DashboardBody"]
    )
    for section in ("Edge: CloudFront and WAF", "Requests: ALB", "Fargate service", "Aurora PostgreSQL", "Cache", "Lambda functions", "Backups"):
        assert section in body, section
    # Metric arrays (namespace, metric name), not widget titles that happen to share the word.
    unescaped = body.replace("\\", "")
    for namespace, metric in (
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("ECS/ContainerInsights", "DesiredTaskCount"),
        ("AWS/RDS", "ServerlessDatabaseCapacity"),
        ("AWS/RDS", "AuroraReplicaLagMaximum"),
        ("AWS/RDS", "Deadlocks"),
        ("AWS/ElastiCache", "Evictions"),
    ):
        assert f'["{namespace}","{metric}"' in unescaped, metric


def test_dashboard_reads_cloudfront_and_waf_in_us_east_1(synth: Synthesized, environment: str) -> None:
    body = json.dumps(
        next(iter(resources_of(synth.template(environment, "observability"), "AWS::CloudWatch::Dashboard").values()))["Properties"]["DashboardBody"]
    ).replace("\\\\", "")
    waf = f'["AWS/WAFV2","BlockedRequests","Rule","ALL","WebACL","medivault-{environment}",{{"region":"us-east-1"'
    assert waf.replace('"', '\\"') in body or waf in body
    assert '\\"AWS/CloudFront\\",\\"Requests\\",\\"DistributionId\\"' in body or '"AWS/CloudFront","Requests","DistributionId"' in body
    assert body.count('region\\":\\"us-east-1') + body.count('region":"us-east-1') >= 5


def test_sampling_rules_match_the_service_as_it_reports_itself() -> None:
    """X-Ray sampling rules and groups match on the service name and URL path: a name or route the service
    does not use would leave every rule unmatched (all requests at the default rate, empty groups)."""
    from medivault_service.api import ROUTES, SERVICE_NAME

    from stacks.config.observability import ObservabilityConfig

    obs = ObservabilityConfig()
    assert obs.xray_service_name == SERVICE_NAME
    served = {route.path for route in ROUTES}
    for pattern in obs.auth_paths:
        assert any(fnmatch.fnmatchcase(path, pattern) for path in served), pattern
    assert set(obs.health_paths) <= served
