"""Observability (R13): the ops pager, alarms that page, one dashboard per environment, X-Ray rules."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from constructs.medivault_function import MediVaultFunction
from constructs.ops_alerting import OpsAlerting
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.tracing_rules import TracingRules

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig

FIVE_MINUTES = cdk.Duration.minutes(5)


class ObservabilityStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        functions: list[MediVaultFunction],
        database: rds.DatabaseCluster,
        database_max_acu: float,
        cache_replication_group: elasticache.CfnReplicationGroup,
        cache_nodes: int,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        service: ecs.FargateService,
        distribution: cloudfront.IDistribution,
        web_acl: wafv2.CfnWebACL,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="ops alarms to an encrypted SNS topic, the request-story dashboard, X-Ray sampling",
        )
        obs = config.observability
        # CloudWatch publishes alarm notifications to the encrypted topic itself: the key lets it,
        # for this account's alarms only.
        self.alerts_key = PurposeKey(
            self,
            "AlertsKey",
            purpose="alerts",
            alias=f"alias/medivault/{config.name}/alerts",
            via_services=["sns"],
            service_principals=[
                ServicePrincipalUse(
                    service="cloudwatch.amazonaws.com",
                    actions=("kms:Decrypt", "kms:GenerateDataKey*"),
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                )
            ],
            removal_policy=config.removal_policy,
        ).key
        self.alerting = OpsAlerting(self, "Ops", email=config.alarm_email, key=self.alerts_key, environment=config.name)
        self.ops_topic = self.alerting.topic

        self.tracing = TracingRules(
            self,
            "Tracing",
            service_name=obs.xray_service_name,
            environment=config.name,
            default_rate=obs.sampling_default_rate,
            auth_rate=obs.sampling_auth_rate,
            health_rate=obs.sampling_health_rate,
            boost_max_rate=obs.sampling_boost_max_rate,
            auth_paths=list(obs.auth_paths),
            health_paths=list(obs.health_paths),
        )

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"medivault-{config.name}", default_interval=cdk.Duration.hours(3))
        self.service_alarms: list[cw.IAlarm] = []
        self._edge_section(distribution, web_acl)
        self._request_section(load_balancer, target_group)
        self._ecs_section(service)
        # One page when the user-facing service is unhealthy, whatever the cause.
        self.service_unhealthy = self.alerting.composite(
            self,
            "ServiceUnhealthy",
            alarms=self.service_alarms,
            description="MediVault service unhealthy: 5xx rate, p99 latency, unhealthy targets or missing tasks",
        )
        self._database_section(database, database_max_acu)
        self._cache_section(cache_replication_group, cache_nodes)
        self._lambda_section(functions)
        self._backup_section()

    # --- sections -------------------------------------------------------------------------------

    def _edge_section(self, distribution: cloudfront.IDistribution, web_acl: wafv2.CfnWebACL) -> None:
        """CloudFront and the CLOUDFRONT-scoped WAF report in us-east-1 (Region=Global); the widgets
        read them there. The web ACL's name is a literal from config, so no cross-region reference."""
        edge = "us-east-1"

        def cf(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/CloudFront",
                metric_name=name,
                dimensions_map={"DistributionId": distribution.distribution_id, "Region": "Global"},
                statistic=statistic,
                period=FIVE_MINUTES,
                region=edge,
            )

        def waf(name: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/WAFV2",
                metric_name=name,
                dimensions_map={"WebACL": str(web_acl.name), "Rule": "ALL"},
                statistic="Sum",
                period=FIVE_MINUTES,
                region=edge,
            )

        self.dashboard.add_widgets(cw.TextWidget(markdown="## Edge: CloudFront and WAF (R9)", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="CloudFront requests", left=[cf("Requests", "Sum")], width=8),
            cw.GraphWidget(title="CloudFront 4xx / 5xx error rate %", left=[cf("4xxErrorRate", "Average"), cf("5xxErrorRate", "Average")], width=8),
            cw.GraphWidget(title="WAF allowed / blocked", left=[waf("AllowedRequests"), waf("BlockedRequests")], width=8),
        )

    def _request_section(self, alb: elbv2.ApplicationLoadBalancer, target_group: elbv2.ApplicationTargetGroup) -> None:
        obs = self.config.observability
        m = alb.metrics
        requests = m.request_count(period=FIVE_MINUTES, statistic="Sum")
        elb_5xx = m.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES, statistic="Sum")
        target_5xx = m.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES, statistic="Sum")
        target_4xx = m.http_code_target(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, period=FIVE_MINUTES, statistic="Sum")
        # 5xx rate in percent; FILL(…, 0) so quiet periods count as 0 % rather than missing data.
        rate = cw.MathExpression(
            expression="100 * (FILL(e5, 0) + FILL(t5, 0)) / MAX([FILL(r, 0), 1])",
            using_metrics={"e5": elb_5xx, "t5": target_5xx, "r": requests},
            label="5xx rate %",
            period=FIVE_MINUTES,
        )
        # Target-group metrics built from the two full-name attributes directly: CDK's own
        # target_group.metrics derives the ALB name from the listener ARN with Fn::Split, which a
        # cross-stack (Fn::GetStackOutput) value cannot feed.
        dims = {"LoadBalancer": alb.load_balancer_full_name, "TargetGroup": target_group.target_group_full_name}

        def tg_metric(name: str, statistic: str, period: cdk.Duration) -> cw.Metric:
            return cw.Metric(namespace="AWS/ApplicationELB", metric_name=name, dimensions_map=dims, statistic=statistic, period=period)

        p50 = tg_metric("TargetResponseTime", "p50", FIVE_MINUTES)
        p99 = tg_metric("TargetResponseTime", "p99", FIVE_MINUTES)
        healthy = tg_metric("HealthyHostCount", "Minimum", cdk.Duration.minutes(1))
        unhealthy = tg_metric("UnHealthyHostCount", "Maximum", cdk.Duration.minutes(1))
        a = self.alerting
        self.service_alarms += [
            a.alarm(
                self,
                "Alb5xxRate",
                metric=rate,
                threshold=obs.alb_5xx_rate_percent,
                description="More than the allowed share of requests fail with 5xx",
            ),
            a.alarm(self, "TargetP99Latency", metric=p99, threshold=obs.p99_latency_seconds, description="p99 target response time above threshold"),
            a.alarm(
                self,
                "UnhealthyTargets",
                metric=unhealthy,
                threshold=1,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                description="A task fails its /healthz check for three minutes (the ALB takes it out of service)",
            ),
        ]
        self.dashboard.add_widgets(cw.TextWidget(markdown="## Requests: ALB (R5)", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Requests", left=[requests], width=6),
            cw.GraphWidget(title="4xx / 5xx", left=[target_4xx, target_5xx, elb_5xx], width=6),
            cw.GraphWidget(title="Target latency p50 / p99 (s)", left=[p50, p99], width=6),
            cw.GraphWidget(title="Healthy / unhealthy targets", left=[healthy, unhealthy], width=6),
        )

    def _ecs_section(self, service: ecs.FargateService) -> None:
        obs = self.config.observability
        cpu = service.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average")
        memory = service.metric_memory_utilization(period=FIVE_MINUTES, statistic="Average")
        dims = {"ClusterName": service.cluster.cluster_name, "ServiceName": service.service_name}
        running = cw.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map=dims,
            period=cdk.Duration.minutes(1),
            statistic="Minimum",
        )
        desired = cw.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="DesiredTaskCount",
            dimensions_map=dims,
            period=cdk.Duration.minutes(1),
            statistic="Maximum",
        )
        missing = cw.MathExpression(
            expression="desired - running",
            using_metrics={"desired": desired, "running": running},
            label="tasks missing",
            period=cdk.Duration.minutes(1),
        )
        a = self.alerting
        a.alarm(self, "EcsCpu", metric=cpu, threshold=obs.ecs_cpu_percent, description="Service CPU above threshold: scaling is not keeping up")
        a.alarm(self, "EcsMemory", metric=memory, threshold=obs.ecs_memory_percent, description="Service memory above threshold")
        self.service_alarms.append(
            a.alarm(
                self,
                "TasksBelowDesired",
                metric=missing,
                threshold=1,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                description="Fewer tasks running than desired for five minutes (failing deployments or capacity)",
            )
        )
        self.dashboard.add_widgets(cw.TextWidget(markdown="## Fargate service (R4)", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="CPU %", left=[cpu], width=8),
            cw.GraphWidget(title="Memory %", left=[memory], width=8),
            cw.GraphWidget(title="Running vs desired tasks", left=[running, desired], width=8),
        )

    def _database_section(self, database: rds.DatabaseCluster, max_acu: float) -> None:
        obs = self.config.observability
        cpu = database.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average")
        acu = database.metric("ServerlessDatabaseCapacity", period=FIVE_MINUTES, statistic="Maximum")
        connections = database.metric_database_connections(period=FIVE_MINUTES, statistic="Maximum")
        memory = database.metric_freeable_memory(period=FIVE_MINUTES, statistic="Minimum")
        lag = database.metric("AuroraReplicaLagMaximum", period=FIVE_MINUTES, statistic="Maximum")
        deadlocks = database.metric_deadlocks(period=FIVE_MINUTES, statistic="Sum")
        a = self.alerting
        a.alarm(self, "AuroraCpu", metric=cpu, threshold=obs.aurora_cpu_percent, description="Aurora CPU above threshold for 15 of 25 minutes")
        a.alarm(
            self, "AuroraAcuNearMax", metric=acu, threshold=round(max_acu * obs.aurora_acu_percent_of_max / 100, 2),
            description=f"Aurora Serverless v2 capacity within {100 - obs.aurora_acu_percent_of_max:.0f} % of its {max_acu} ACU cap",
        )  # fmt: skip
        a.alarm(
            self, "AuroraFreeableMemory", metric=memory, threshold=obs.aurora_freeable_memory_mib * 1024 * 1024,
            comparison=cw.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD, description="Aurora freeable memory low: buffers will be evicted",
        )  # fmt: skip
        a.alarm(self, "AuroraReplicaLag", metric=lag, threshold=obs.aurora_replica_lag_ms, description="Aurora reader lags the writer")
        self.dashboard.add_widgets(cw.TextWidget(markdown="## Aurora PostgreSQL (R6)", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="ACU (capacity)", left=[acu], width=4),
            cw.GraphWidget(title="CPU %", left=[cpu], width=4),
            cw.GraphWidget(title="Connections", left=[connections], width=4),
            cw.GraphWidget(title="Replica lag (ms)", left=[lag], width=4),
            cw.GraphWidget(title="Deadlocks", left=[deadlocks], width=4),
            cw.GraphWidget(title="Freeable memory", left=[memory], width=4),
        )

    def _cache_section(self, group: elasticache.CfnReplicationGroup, nodes: int) -> None:
        """ElastiCache reports per member cluster: <replication group id>-001 is the initial primary."""
        obs = self.config.observability

        def metric(name: str, node: int, statistic: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/ElastiCache",
                metric_name=name,
                dimensions_map={"CacheClusterId": cdk.Fn.join("-", [group.ref, f"{node:03d}"])},
                period=FIVE_MINUTES,
                statistic=statistic,
            )

        memory = [metric("DatabaseMemoryUsagePercentage", n, "Maximum") for n in range(1, nodes + 1)]
        evictions = [metric("Evictions", n, "Sum") for n in range(1, nodes + 1)]
        cpu = [metric("EngineCPUUtilization", n, "Average") for n in range(1, nodes + 1)]
        lag = [metric("ReplicationLag", n, "Maximum") for n in range(2, nodes + 1)]
        for n in range(1, nodes + 1):
            self.alerting.alarm(
                self, f"CacheMemoryNode{n}", metric=memory[n - 1], threshold=obs.redis_memory_percent,
                description=f"Cache node {n:03d}: memory above threshold (evictions follow)",
            )  # fmt: skip
            self.alerting.alarm(
                self, f"CacheEvictionsNode{n}", metric=evictions[n - 1], threshold=obs.redis_evictions_per_5min,
                evaluation_periods=1, datapoints_to_alarm=1, description=f"Cache node {n:03d}: keys evicted (hot data lost)",
            )  # fmt: skip
        self.dashboard.add_widgets(cw.TextWidget(markdown="## Cache (R8)", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Engine CPU %", left=cpu, width=6),
            cw.GraphWidget(title="Memory %", left=memory, width=6),
            cw.GraphWidget(title="Evictions", left=evictions, width=6),
            cw.GraphWidget(title="Replication lag (s)", left=lag or memory[:0], width=6),
        )

    def _lambda_section(self, functions: list[MediVaultFunction]) -> None:
        """Every function's errors and throttles, and its dead-letter queue, page on the first event:
        these functions do compliance work (findings, quarantine, DR checks), so one failure matters."""
        if not functions:
            return
        errors, throttles, durations, dlqs = [], [], [], []
        for fn in functions:
            name = fn.node.path.replace("/", "")[-60:]
            function = fn.function
            e = function.metric_errors(period=FIVE_MINUTES, statistic="Sum")
            t = function.metric_throttles(period=FIVE_MINUTES, statistic="Sum")
            q = fn.dead_letter_queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum")
            self.alerting.alarm(
                self, f"{name}Errors", metric=e, threshold=1, evaluation_periods=1, datapoints_to_alarm=1,
                description=f"{fn.node.path}: any invocation error (compliance function)",
            )  # fmt: skip
            self.alerting.alarm(
                self, f"{name}Throttles", metric=t, threshold=1, evaluation_periods=1, datapoints_to_alarm=1,
                description=f"{fn.node.path}: throttled (reserved concurrency exhausted)",
            )  # fmt: skip
            self.alerting.alarm(
                self, f"{name}DeadLetters", metric=q, threshold=1, evaluation_periods=1, datapoints_to_alarm=1,
                description=f"{fn.node.path}: an event landed in the dead-letter queue and needs a human",
            )  # fmt: skip
            errors.append(e)
            throttles.append(t)
            durations.append(function.metric_duration(period=FIVE_MINUTES, statistic="p99"))
            dlqs.append(q)
        self.dashboard.add_widgets(cw.TextWidget(markdown="## Lambda functions (compliance automation)", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Errors", left=errors, width=6),
            cw.GraphWidget(title="Throttles", left=throttles, width=6),
            cw.GraphWidget(title="Duration p99", left=durations, width=6),
            cw.GraphWidget(title="Dead-letter queue depth", left=dlqs, width=6),
        )

    def _backup_section(self) -> None:
        """AWS Backup publishes job counts per resource type; a SEARCH shows every type at once."""
        self.dashboard.add_widgets(cw.TextWidget(markdown="## Backups (R15)", width=24, height=1))
        widgets: list[cw.IWidget] = []
        for metric_name in ("NumberOfBackupJobsCompleted", "NumberOfBackupJobsFailed", "NumberOfCopyJobsFailed"):
            widgets.append(
                cw.GraphWidget(
                    title=metric_name,
                    left=[
                        cw.MathExpression(
                            expression=f"SEARCH('{{AWS/Backup,ResourceType}} MetricName=\"{metric_name}\"', 'Sum', 86400)",
                            label="",
                            period=cdk.Duration.days(1),
                        )
                    ],
                    width=8,
                )
            )
        self.dashboard.add_widgets(*widgets)
