"""The cost model's new lines (issue 18): each is present and computed from the templates and the
config, on a small app built with the CDK shapes the stacks use and on the real synthesized app.

Pricing rules the lines encode (AWS pricing pages, read for the billing units, not the amounts):
- public IPv4 addresses are billed per hour whether attached or idle, NAT gateway Elastic IPs and
  each internet-facing ALB node's address included: https://aws.amazon.com/vpc/pricing/
- Aurora Serverless v2 at 0 ACU (auto-pause) bills storage only:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
- GuardDuty bills S3 Protection per S3 data event, RDS Protection per ACU-hour of Aurora Serverless
  v2, Runtime Monitoring per vCPU of the monitored Fargate tasks: https://aws.amazon.com/guardduty/pricing/
  and https://docs.aws.amazon.com/guardduty/latest/ug/monitoring_costs.html
- CloudWatch bills alarms per alarm metric (metric math: each metric), composite alarms and
  dashboards per month, Container Insights enhanced per observation, Database Insights advanced per
  ACU-hour: https://aws.amazon.com/cloudwatch/pricing/
- X-Ray bills traces recorded and traces retrieved/scanned: https://aws.amazon.com/xray/pricing/
- AWS Backup: the first backup of a resource is a full copy, later ones are incremental:
  https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_config as config
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_xray as xray

from stacks import config as cfg
from tests.conftest import Synthesized
from tools.assembly import StackArtifact
from tools.assembly import stacks as assembly_stacks
from tools.report import cost

H = 730.0


def _mini_app(outdir: Path, *, aurora_min: float) -> list[StackArtifact]:
    app = cdk.App(outdir=str(outdir))
    stage = cdk.Stage(app, "Mini")
    env = cdk.Environment(account="123456789012", region="eu-central-1")
    stack = cdk.Stack(stage, "Main", env=env)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=vpc, internet_facing=True)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENHANCED)
    task = ecs.FargateTaskDefinition(
        stack, "Task", cpu=1024, memory_limit_mib=2048, runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64)
    )
    task.add_container("App", image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:latest"))
    task.add_container("Sidecar", image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:latest"))
    service = ecs.FargateService(stack, "Service", cluster=cluster, task_definition=task)
    service.auto_scale_task_count(min_capacity=2, max_capacity=4).scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
    db = rds.CfnDBCluster(
        stack,
        "Db",
        engine="aurora-postgresql",
        serverless_v2_scaling_configuration=rds.CfnDBCluster.ServerlessV2ScalingConfigurationProperty(min_capacity=aurora_min, max_capacity=4),
        database_insights_mode="advanced",
    )
    for name in ("Writer", "Reader"):
        rds.CfnDBInstance(stack, name, db_instance_class="db.serverless", engine="aurora-postgresql", db_cluster_identifier=db.ref)
    guardduty.CfnDetector(
        stack,
        "Detector",
        enable=True,
        features=[
            guardduty.CfnDetector.CFNFeatureConfigurationProperty(name="S3_DATA_EVENTS", status="ENABLED"),
            guardduty.CfnDetector.CFNFeatureConfigurationProperty(name="RDS_LOGIN_EVENTS", status="ENABLED"),
            guardduty.CfnDetector.CFNFeatureConfigurationProperty(
                name="RUNTIME_MONITORING",
                status="ENABLED",
                additional_configuration=[
                    guardduty.CfnDetector.CFNFeatureAdditionalConfigurationProperty(name="ECS_FARGATE_AGENT_MANAGEMENT", status="ENABLED")
                ],
            ),
        ],
    )
    config.CfnConfigurationRecorder(stack, "Recorder", role_arn="arn:aws:iam::123456789012:role/config")
    vault = backup.CfnBackupVault(stack, "Vault", backup_vault_name="primary")
    backup.CfnBackupPlan(
        stack,
        "Plan",
        backup_plan=backup.CfnBackupPlan.BackupPlanResourceTypeProperty(
            backup_plan_name="plan",
            backup_plan_rule=[
                backup.CfnBackupPlan.BackupRuleResourceTypeProperty(
                    rule_name="Daily",
                    target_backup_vault=vault.ref,
                    schedule_expression="cron(0 3 * * ? *)",
                    lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(delete_after_days=35),
                    copy_actions=[
                        backup.CfnBackupPlan.CopyActionResourceTypeProperty(
                            destination_backup_vault_arn="arn:aws:backup:eu-west-1:123456789012:backup-vault:dr",
                            lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(delete_after_days=35),
                        )
                    ],
                ),
                backup.CfnBackupPlan.BackupRuleResourceTypeProperty(
                    rule_name="Monthly",
                    target_backup_vault=vault.ref,
                    schedule_expression="cron(0 5 1 * ? *)",
                    lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(delete_after_days=2557),
                ),
                backup.CfnBackupPlan.BackupRuleResourceTypeProperty(
                    rule_name="Continuous",
                    target_backup_vault=vault.ref,
                    schedule_expression="cron(0 3 * * ? *)",
                    enable_continuous_backup=True,
                    lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(delete_after_days=35),
                ),
            ],
        ),
    )
    metric = cw.Metric(namespace="MediVault", metric_name="Errors")
    a = cw.Alarm(stack, "Plain", metric=metric, threshold=1, evaluation_periods=1)
    cw.Alarm(stack, "Fast", metric=metric.with_(period=cdk.Duration.seconds(10)), threshold=1, evaluation_periods=1)
    ratio = cw.MathExpression(expression="e / r", using_metrics={"e": metric, "r": cw.Metric(namespace="MediVault", metric_name="Requests")})
    b = cw.Alarm(stack, "Ratio", metric=ratio, threshold=1, evaluation_periods=1)
    cw.CompositeAlarm(stack, "Both", alarm_rule=cw.AlarmRule.all_of(a, b))
    cw.Dashboard(stack, "Board")
    for priority, name, rate, reservoir in ((10, "health", 0.0, 0), (1000, "default", 0.05, 1)):
        xray.CfnSamplingRule(
            stack,
            name,
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=name,
                priority=priority,
                fixed_rate=rate,
                reservoir_size=reservoir,
                host="*",
                http_method="*",
                resource_arn="*",
                service_name="*",
                service_type="*",
                url_path="*",
                version=1,
            ),
        )
    for name, arch, memory in (("Arm", lambda_.Architecture.ARM_64, 512), ("X86", lambda_.Architecture.X86_64, 256)):
        lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(e, c): return None"),
            architecture=arch,
            memory_size=memory,
        )
    other = cdk.Stack(stage, "Dr", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    guardduty.CfnDetector(other, "Detector", enable=True)
    config.CfnConfigurationRecorder(other, "Recorder", role_arn="arn:aws:iam::123456789012:role/config")
    backup.CfnBackupVault(other, "DrVault", backup_vault_name="dr")
    app.synth()
    return assembly_stacks(outdir)


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> list[StackArtifact]:
    return _mini_app(tmp_path_factory.mktemp("mini") / "cdk.out", aurora_min=0)


@pytest.fixture(scope="module")
def mini_always_on(tmp_path_factory: pytest.TempPathFactory) -> list[StackArtifact]:
    return _mini_app(tmp_path_factory.mktemp("mini-on") / "cdk.out", aurora_min=0.5)


PRICES = cost.load_prices()
USAGE = cost.load_usage()
U = {k: v["value"] for k, v in USAGE["environments"]["production"].items()}


def _lines(stacks: list[StackArtifact], period: cost.Period | None = None, stage: str = "Mini") -> dict[str, cost.CostLine]:
    result = cost.estimate(stacks, stage, prices=PRICES, usage=USAGE, period=period)
    assert result.unpriced == []
    return {line.item: line for line in result.lines}


def _price(key: str) -> float:
    return float(PRICES["prices"][key]["usd"])


def test_public_ipv4_addresses_of_the_nat_gateway_and_each_alb_subnet_are_billed_per_hour(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    assert lines["Public IPv4: NAT gateway addresses"].quantity == 1 * H
    assert lines["Public IPv4: ALB addresses"].quantity == 2 * H  # internet-facing over two public subnets
    assert lines["Public IPv4: ALB addresses"].unit_price == _price("public_ipv4_hour") == 0.005
    # Idle or not, an address is billed.
    assert _lines(mini, cost.Period(24, 0))["Public IPv4: ALB addresses"].quantity == 2 * 24


def test_guardduty_protection_plans_are_priced_on_what_they_watch(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    acu = lines["Db ACU-hours"].quantity
    assert acu == 2 * U["aurora_average_acu"] * H
    assert lines["RDS Protection: Db ACU-hours"].quantity == acu
    assert lines["RDS Protection: Db ACU-hours"].unit_price == _price("guardduty_rds_acu_hour")
    tasks = 2 + U["fargate_average_tasks_over_minimum"]
    runtime = next(line for item, line in lines.items() if item.startswith("Runtime Monitoring:"))
    assert runtime.quantity == tasks * 1 * H  # 1 vCPU per task
    assert runtime.unit_price == _price("guardduty_runtime_vcpu_hour")
    assert lines["S3 Protection: S3 data events analysed"].quantity == U["guardduty_s3_events_million"]
    # The eu-west-1 detector analyses that region's management events only.
    assert lines["CloudTrail events analysed (other regions)"].quantity == U["guardduty_cloudtrail_events_million_other_region"]
    assert lines["CloudTrail events analysed"].quantity == U["guardduty_cloudtrail_events_million"]


def test_guardduty_plans_not_enabled_are_not_priced(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(cdk.Stage(app, "Bare"), "Main", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    guardduty.CfnDetector(stack, "Detector", enable=True)
    db = rds.CfnDBCluster(
        stack,
        "Db",
        engine="aurora-postgresql",
        serverless_v2_scaling_configuration=rds.CfnDBCluster.ServerlessV2ScalingConfigurationProperty(min_capacity=0.5, max_capacity=2),
    )
    rds.CfnDBInstance(stack, "Writer", db_instance_class="db.serverless", engine="aurora-postgresql", db_cluster_identifier=db.ref)
    app.synth()
    items = {item for item, line in _lines(assembly_stacks(tmp_path / "out"), stage="Bare").items() if line.service in ("GuardDuty", "CloudWatch")}
    # The foundational detector only: no RDS Protection line although a database is there, and no
    # Database Insights line for a cluster without DatabaseInsightsMode advanced.
    assert items == {"CloudTrail events analysed", "Flow and DNS logs analysed"}


def test_container_and_database_insights_follow_the_template_settings(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    tasks = 2 + U["fargate_average_tasks_over_minimum"]
    insights = next(line for item, line in lines.items() if "Container Insights (enhanced)" in item)
    assert insights.quantity == pytest.approx(tasks * H * 2 * U["container_insights_observations_per_container_hour"] / 1e6, abs=1e-4)
    assert lines["Db Database Insights (advanced)"].quantity == lines["Db ACU-hours"].quantity
    assert lines["Db Database Insights (advanced)"].unit_price == _price("database_insights_advanced_acu_hour")


def test_alarms_are_billed_per_metric_composites_and_dashboards_per_month(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    assert lines["Alarms (standard resolution)"].quantity == 1 + 2  # the plain alarm + the ratio's two metrics
    assert lines["Alarms (high resolution)"].quantity == 1
    assert lines["Composite alarms"].quantity == 1
    assert lines["Dashboards"].quantity == 1
    assert lines["Dashboards"].monthly == _price("cloudwatch_dashboard_month")


def test_xray_traces_follow_the_catch_all_sampling_rule(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    requests = U["origin_requests_million"] * 1e6
    reserved = min(requests, 1 * H * 3600)
    assert lines["Traces recorded"].quantity == pytest.approx((reserved + 0.05 * (requests - reserved)) / 1e6, abs=1e-4)
    assert lines["Traces retrieved or scanned"].quantity == pytest.approx(lines["Traces recorded"].quantity * U["xray_scans_per_trace"], abs=1e-4)


def test_lambda_gb_seconds_use_each_functions_memory_and_architecture(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    per_function = U["lambda_invocations_per_function"] * U["lambda_average_seconds"]
    assert lines["Compute GB-seconds (ARM64)"].quantity == pytest.approx(0.5 * per_function)
    assert lines["Compute GB-seconds (ARM64)"].unit_price == _price("lambda_gb_second_arm")
    # The x86 functions: ours plus CDK's own custom-resource helpers, each at its MemorySize.
    assert lines["Compute GB-seconds (x86)"].unit_price == _price("lambda_gb_second_x86")
    assert lines["Compute GB-seconds (x86)"].quantity >= 0.25 * per_function


def test_backup_storage_is_a_full_copy_plus_what_each_retained_point_keeps(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    primary_points = 35 + 2557 / cost.DAYS_PER_MONTH  # daily + monthly; the continuous rule adds none
    copy_points = 35  # only the daily rule copies to eu-west-1
    s3 = U["s3_records_gb"]
    assert lines["Vault S3 backup storage"].quantity == pytest.approx(s3 * (1 + primary_points * U["backup_s3_change_share_per_point"]), abs=1e-3)
    assert lines["DrVault S3 backup storage"].quantity == pytest.approx(s3 * (1 + copy_points * U["backup_s3_change_share_per_point"]), abs=1e-3)
    aurora = U["aurora_storage_gb"]
    expected = aurora * (1 + primary_points * U["backup_aurora_change_share_per_point"])
    assert lines["Vault Aurora snapshot storage"].quantity == pytest.approx(expected, abs=1e-3)
    # Never below a full copy of the records (issue 18: 2,000 GB per vault against 5,000 GB of records).
    assert lines["Vault S3 backup storage"].quantity >= s3


def test_config_recorders_outside_the_primary_region_are_priced_per_recorder(mini: list[StackArtifact]) -> None:
    lines = _lines(mini)
    assert lines["Configuration items"].quantity == U["config_items"]
    assert lines["Configuration items (other regions)"].quantity == U["config_items_other_region"]


def test_aurora_pauses_at_zero_acu_when_idle_and_bills_its_minimum_otherwise(mini: list[StackArtifact], mini_always_on: list[StackArtifact]) -> None:
    idle = cost.Period(24, 0)
    assert _lines(mini, idle)["Db ACU-hours"].quantity == 0
    assert _lines(mini_always_on, idle)["Db ACU-hours"].quantity == 2 * 0.5 * 24
    half = cost.Period(24, 8)
    in_use = min(max(U["aurora_average_acu"], 0.5), 4)
    assert _lines(mini, half)["Db ACU-hours"].quantity == 2 * in_use * 8
    assert _lines(mini_always_on, half)["Db ACU-hours"].quantity == 2 * (in_use * 8 + 0.5 * 16)
    # Storage is billed paused or not.
    assert _lines(mini, idle)["Db storage"].quantity == pytest.approx(U["aurora_storage_gb"] * 24 / H, abs=1e-4)


def test_an_idle_period_has_no_traffic_but_every_hourly_resource(mini: list[StackArtifact]) -> None:
    idle = _lines(mini, cost.Period(24, 0))
    assert idle["NAT gateway hours"].quantity == 24 and idle["NAT data processed"].quantity == 0
    assert idle["ALB hours"].quantity == 24 and idle["ALB LCU-hours"].quantity == 0
    assert idle["Traces recorded"].quantity == 0
    fargate = next(line for item, line in idle.items() if item.endswith("vCPU-hours (ARM64)"))
    assert fargate.quantity == 2 * 1 * 24  # the autoscaling minimum keeps running


def test_a_period_cannot_be_more_active_than_long() -> None:
    with pytest.raises(ValueError, match=r"active_hours 25 must lie within 0\.\.24"):
        cost.Period(24, 25)


@pytest.mark.parametrize(("amount", "expected"), [(2583.4, 2600), (312.16, 310), (11.36, 11), (8.15, 8), (0.0, 0), (47.9, 48)])
def test_figures_are_rounded_to_two_significant_digits(amount: float, expected: int) -> None:
    assert cost.rounded(amount) == expected


def test_every_price_is_dated_sourced_and_says_how_it_was_obtained() -> None:
    for key, entry in PRICES["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        assert entry["method"] in ("hand", "price-list-api"), key
        assert len(entry["as_of"]) == 10, key
    assert PRICES["as_of"] <= min(e["as_of"] for e in PRICES["prices"].values())


# --- the real app: the new lines are there, computed from its templates and config ------------------


def _stage_resources(synth: Synthesized, stage: str, kind: str) -> list[dict[str, Any]]:
    stacks = [s for s in assembly_stacks(synth.outdir) if s.stage.removeprefix("assembly-") == stage]
    return [r for s in stacks for r in s.resources().values() if r["Type"] == kind]


@pytest.fixture(scope="module")
def real(synth: Synthesized) -> list[StackArtifact]:
    return assembly_stacks(synth.outdir)


def test_production_prices_every_new_line_from_its_templates_and_config(synth: Synthesized, real: list[StackArtifact]) -> None:
    conf = cfg.load("production", None)
    lines = _lines(real, stage="Production")
    assert lines["Public IPv4: NAT gateway addresses"].quantity == conf.network.nat_gateways * H
    (alb,) = _stage_resources(synth, "Production", "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lines["Public IPv4: ALB addresses"].quantity == len(alb["Properties"]["Subnets"]) * H == 3 * H
    aurora = next(line for item, line in lines.items() if item.endswith("ACU-hours") and item.startswith("Aurora"))
    assert next(line for item, line in lines.items() if item.startswith("RDS Protection")).quantity == aurora.quantity
    assert conf.data.database_insights_mode == "ADVANCED"
    assert any(item.endswith("Database Insights (advanced)") for item in lines)
    vcpu = next(line for item, line in lines.items() if item.endswith("vCPU-hours (ARM64)"))
    assert next(line for item, line in lines.items() if item.startswith("Runtime Monitoring")).quantity == vcpu.quantity
    assert any("Container Insights (enhanced)" in item for item in lines)
    alarms = _stage_resources(synth, "Production", "AWS::CloudWatch::Alarm")
    metrics = sum(len([m for m in a["Properties"].get("Metrics", []) if "MetricStat" in m]) or 1 for a in alarms)
    assert lines["Alarms (standard resolution)"].quantity == metrics >= len(alarms) > 10
    assert lines["Dashboards"].quantity == len(_stage_resources(synth, "Production", "AWS::CloudWatch::Dashboard")) == 1
    assert lines["Traces recorded"].quantity > 0
    assert lines["Configuration items (other regions)"].quantity == 2 * U["config_items_other_region"]  # DR and edge detection
    points = conf.backup.daily_retention_days + conf.backup.monthly_retention_days / cost.DAYS_PER_MONTH
    backup = next(line for item, line in lines.items() if item.startswith("PrimaryVault") and item.endswith("S3 backup storage"))
    assert backup.quantity == pytest.approx(U["s3_records_gb"] * (1 + points * U["backup_s3_change_share_per_point"]), abs=1e-2)
    lambdas = _stage_resources(synth, "Production", "AWS::Lambda::Function")
    assert lines["Requests"].quantity == pytest.approx(len(lambdas) * U["lambda_invocations_per_function"] / 1e6, abs=1e-4)


def test_sandbox_idle_and_in_use_days_and_months(real: list[StackArtifact]) -> None:
    conf = cfg.load("sandbox", None)
    assert conf.data.aurora_min_acu == 0  # the sandbox pauses
    sandbox_usage = USAGE["environments"]["sandbox"]
    day = cost.daily_cost(real, "Sandbox")
    assert day.in_use_hours == sandbox_usage["in_use_hours_per_day"]["value"]
    assert 0 < day.idle < day.in_use
    idle_lines = _lines(real, cost.Period(24, 0), stage="Sandbox")
    assert next(line for item, line in idle_lines.items() if item.endswith("ACU-hours")).quantity == 0
    assert "Database Insights" not in " ".join(idle_lines)  # the sandbox runs STANDARD (free)
    figures = cost.per_day(real, "Sandbox")
    assert (figures["idle"], figures["in_use"]) == (round(day.idle, 2), round(day.in_use, 2))
    assert figures["in_use_month"] == cost.estimate(real, "Sandbox").total
    assert 0 < figures["idle_month"] < figures["in_use_month"]
    summary = cost.summary(real)
    assert summary.production_month.total > figures["in_use_month"]
    table = cost.summary_markdown(summary)
    assert f"≈ {cost.rounded(day.idle):,} |" in table and f"≈ {cost.rounded(summary.production_month.total):,} |" in table


def test_the_report_shows_each_price_with_its_source_date_and_method() -> None:
    from tools.report import render

    rows = {key: source for key, _, _, source in render.price_rows(PRICES)}
    entry = PRICES["prices"]["public_ipv4_hour"]
    assert rows["public_ipv4_hour"] == f"{entry['source']}, {entry['as_of']} ({entry['method']})"
    assert rows["elasticache_node_hour[cache.r7g.large]"].endswith(f"{PRICES['prices']['elasticache_node_hour']['as_of']} (hand)")


def test_user_pools_are_priced_per_monthly_active_user_on_their_feature_plan(synth: Synthesized, real: list[StackArtifact]) -> None:
    """Cognito bills per monthly active user at the pool's feature plan (https://aws.amazon.com/cognito/pricing/);
    the plan is read from the template (UserPoolTier), the users from the usage assumptions."""
    for stage, environment in (("Production", "production"), ("Sandbox", "sandbox")):
        (pool,) = _stage_resources(synth, stage, "AWS::Cognito::UserPool")
        assert pool["Properties"]["UserPoolTier"] == "PLUS"
        lines = {item: line for item, line in _lines(real, stage=stage).items() if item.startswith("UserPool") or "monthly active users" in item}
        (line,) = lines.values()
        assert line.quantity == USAGE["environments"][environment]["cognito_mau"]["value"]
        assert line.unit_price == _price("cognito_mau_plus") == 0.02
    # An idle sandbox day has no sign-ins.
    idle = _lines(real, cost.Period(24, 0), stage="Sandbox")
    assert [line.quantity for item, line in idle.items() if "monthly active users" in item] == [0]
