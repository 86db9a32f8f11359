"""Observability (R13): the ops pager, alarms that page, one dashboard per environment, X-Ray rules."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_rds as rds
from constructs import Construct
from constructs.ops_alerting import OpsAlerting
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.python_function import PythonFunction
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
        functions: list[PythonFunction],
        database: rds.DatabaseCluster,
        database_max_acu: float,
        cache_replication_group: elasticache.CfnReplicationGroup,
        cache_nodes: int,
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
        self._database_section(database, database_max_acu)
        self._cache_section(cache_replication_group, cache_nodes)
        self._lambda_section(functions)
        self._backup_section()

    # --- sections -------------------------------------------------------------------------------

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

    def _lambda_section(self, functions: list[PythonFunction]) -> None:
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
