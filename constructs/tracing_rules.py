"""X-Ray sampling rules and a group for the MediVault service (R13).

Head-based sampling decides when a request starts, before anyone knows it will fail, so "more
for errors" is done two ways: X-Ray adaptive sampling (SamplingRateBoost) raises the rate when it
sees anomalies, and the group's filter expression keeps error/fault traces easy to find with
X-Ray Insights on. The auth path is sampled heavily (brute-force attempts are what we want to see);
health checks not at all (they would drown the real traffic).
"""

from __future__ import annotations

from aws_cdk import aws_xray as xray
from constructs import Construct
from constructs.traceability import trace


class TracingRules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_name: str,
        environment: str,
        default_rate: float,
        auth_rate: float,
        health_rate: float,
        boost_max_rate: float,
        auth_paths: list[str],
        health_paths: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, xray.CfnSamplingRule] = {}
        specs: list[tuple[str, int, float, int, str]] = []
        priority = 10
        for path in health_paths:
            specs.append((f"health{len(specs)}", priority, health_rate, 0, path))
            priority += 10
        for path in auth_paths:
            specs.append((f"auth{len(specs)}", priority, auth_rate, 5, path))
            priority += 10
        specs.append(("default", 1000, default_rate, 1, "*"))
        for name, prio, rate, reservoir, path in specs:
            rule_name = f"mv-{environment[:4]}-{name}"[:32]
            self.rules[name] = xray.CfnSamplingRule(
                self,
                name.capitalize(),
                sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                    rule_name=rule_name,
                    priority=prio,
                    fixed_rate=rate,
                    reservoir_size=reservoir,
                    service_name=service_name,
                    service_type="*",
                    host="*",
                    http_method="*",
                    url_path=path,
                    resource_arn="*",
                    version=1,
                    sampling_rate_boost=(
                        xray.CfnSamplingRule.SamplingRateBoostProperty(max_rate=boost_max_rate, cooldown_window_minutes=5)
                        if name == "default"
                        else None
                    ),
                ),
            )
        self.group = xray.CfnGroup(
            self,
            "Group",
            group_name=f"medivault-{environment}",
            filter_expression=f'service("{service_name}")',
            insights_configuration=xray.CfnGroup.InsightsConfigurationProperty(insights_enabled=True, notifications_enabled=True),
        )
        self.errors_group = xray.CfnGroup(
            self,
            "ErrorsGroup",
            group_name=f"medivault-{environment}-errors",
            filter_expression=f'service("{service_name}") AND (error = true OR fault = true)',
            insights_configuration=xray.CfnGroup.InsightsConfigurationProperty(insights_enabled=True, notifications_enabled=True),
        )
        trace(
            self, ["R13"], ["operational-excellence", "performance-efficiency"], "Sampling favours the auth path and anomalies, skips health checks."
        )
