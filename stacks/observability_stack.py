"""Observability (R13): the ops pager, alarms that page, one dashboard per environment, X-Ray rules."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
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
        self._lambda_section(functions)
        self._backup_section()

    # --- sections -------------------------------------------------------------------------------

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
