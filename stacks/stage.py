"""One deployable environment: every stack of MediVault EU, across its three regions."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct
from constructs.medivault_function import MediVaultFunction

from stacks.app_stack import AppStack
from stacks.audit_stack import AuditStack
from stacks.backup_stack import BackupStack
from stacks.config import EnvironmentConfig
from stacks.data_stack import DataStack
from stacks.detection_stack import DetectionStack
from stacks.dr_vault_stack import DrVaultStack
from stacks.edge_global_stack import EdgeGlobalStack
from stacks.edge_stack import EdgeStack
from stacks.identity_stack import IdentityStack
from stacks.keys_stack import KeysStack
from stacks.network_stack import NetworkStack
from stacks.observability_stack import ObservabilityStack


class MediVaultStage(cdk.Stage):
    """Stacks are named ``<Stage>-<Stack>`` (e.g. ``Sandbox-Network``) in the cloud assembly."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.stage_name)
        self.config = config
        self.keys = KeysStack(self, "Keys", config=config)
        self.network = NetworkStack(self, "Network", config=config, logs_key=self.keys.logs_key)
        self.identity = IdentityStack(self, "Identity", config=config, logs_key=self.keys.logs_key)
        self.data = DataStack(
            self,
            "Data",
            config=config,
            vpc=self.network.vpc,
            data_subnets=self.network.data_subnets,
            app_subnets=self.network.app_subnets,
            database_security_group=self.network.database_security_group,
            cache_security_group=self.network.cache_security_group,
            rotation_security_group=self.network.rotation_security_group,
            secrets_manager_endpoint=self.network.secrets_manager_endpoint,
            aws_apis=self.network.aws_apis,
            data_key=self.keys.data_key,
            logs_key=self.keys.logs_key,
        )
        self.app = AppStack(
            self,
            "App",
            config=config,
            vpc=self.network.vpc,
            app_subnets=self.network.app_subnets,
            alb_security_group=self.network.alb_security_group,
            app_security_group=self.network.app_security_group,
            migration_security_group=self.network.migration_security_group,
            migration_trigger_security_group=self.network.migration_trigger_security_group,
            database=self.data.database,
            database_secret=self.data.database_secret,
            cache_auth_secret=self.data.cache_auth_secret,
            cache_endpoint_address=self.data.cache_replication_group.attr_primary_end_point_address,
            cache_endpoint_port=self.data.cache_replication_group.attr_primary_end_point_port,
            records_bucket=self.data.records_bucket,
            imaging_bucket=self.data.imaging_bucket,
            user_pool=self.identity.user_pool,
            user_pool_client=self.identity.user_pool_client,
            data_key=self.keys.data_key,
            logs_key=self.keys.logs_key,
        )
        self.edge_global = EdgeGlobalStack(self, "EdgeGlobal", config=config)
        self.edge = EdgeStack(
            self,
            "Edge",
            config=config,
            load_balancer=self.app.load_balancer,
            origin_secret=self.app.origin_secret,
            origin_header_name=self.app.origin_header_name,
            web_acl=self.edge_global.web_acl,
            certificate=self.edge_global.certificate,
            origin_rotation=self.app.origin_rotation,
        )
        self.audit = AuditStack(
            self,
            "Audit",
            config=config,
            logs_key=self.keys.logs_key,
            data_key=self.keys.data_key,
            vpc=self.network.vpc,
            function_subnets=self.network.app_subnets,
            aws_apis=self.network.aws_apis,
            phi_buckets=self.data.phi_buckets,
            # After the app and edge stacks: their log buckets are evidence the quarantine must not touch.
            evidence_buckets=[
                self.data.access_log_bucket,
                self.app.access_log_bucket,
                self.edge.log_bucket,
                self.edge.s3_access_log_bucket,
            ],
        )
        # Detection in the two other regions we use, findings routed to the Audit stack's notifier.
        self.detection_dr = DetectionStack(
            self, "DetectionDr", config=config, kind="dr", config_bucket=self.audit.config_bucket, config_key=self.audit.audit_key
        )
        self.detection_edge = DetectionStack(
            self, "DetectionEdge", config=config, kind="edge", config_bucket=self.audit.config_bucket, config_key=self.audit.audit_key
        )
        self.dr_vault = DrVaultStack(self, "DrVault", config=config)
        self.backup = BackupStack(
            self,
            "Backup",
            config=config,
            database=self.data.database,
            buckets=self.data.phi_buckets,
            backup_key=self.keys.backup_key,
            dr_vault=self.dr_vault.vault,
            logs_key=self.keys.logs_key,
            vpc=self.network.vpc,
            function_subnets=self.network.app_subnets,
        )
        # Backup Audit Manager's framework controls are Config rules over Config-recorded backup
        # resources: the account's recorder (Audit stack) must exist first (tests/deploy/test_order.py).
        self.backup.add_stack_dependency(self.audit, "Backup Audit Manager frameworks need AWS Config recording")
        # Observability last: it watches what the stacks above built.
        functions = [c for c in self.node.find_all() if isinstance(c, MediVaultFunction)]
        self.observability = ObservabilityStack(
            self,
            "Observability",
            config=config,
            functions=functions,
            database=self.data.database,
            database_max_acu=config.data.aurora_max_acu,
            cache_replication_group=self.data.cache_replication_group,
            cache_nodes=1 + config.data.cache_replicas,
            load_balancer=self.app.load_balancer,
            target_group=self.app.target_group,
            service=self.app.service,
            distribution=self.edge.distribution,
            web_acl=self.edge_global.web_acl,
        )
