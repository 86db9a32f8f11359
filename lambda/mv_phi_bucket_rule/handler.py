"""Custom AWS Config rule: PHI-tagged buckets must be locked, versioned and under the data key.

Invoked by AWS Config on configuration changes of ``AWS::S3::Bucket`` (including oversized change
notifications) and periodically. Reads each bucket's state from S3 and reports with
``config:PutEvaluations``. Outcomes:
- change notification: one evaluation for that bucket (NOT_APPLICABLE when deleted or out of scope);
- periodic: one evaluation per bucket of this region;
- invalid rule parameters or an unknown message type: one error log line, ``rejected``, no report
  (Config shows the rule as not evaluated rather than a made-up result).

Layers: this module checks the invocation and reports; ``logic`` decides each evaluation; ``dal``
is the only module that calls S3 and Config.

Environment (read on the first invocation): AWS_REGION (set by Lambda), CONFIG_RULE_TEST_MODE
(optional): ``true`` sends ``TestMode=True`` with PutEvaluations. Only the tests set it (moto
implements PutEvaluations only in test mode); the deployed function never has it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_phi_bucket_rule import dal
from mv_phi_bucket_rule.logic import BadParameters, RuleParameters, UnknownInvocation, evaluations_for
from mv_shared.observability import logger, reject, tracer
from mv_shared.settings import Env, Lazy, flag


@dataclass(frozen=True)
class Settings:
    region: Annotated[str, Env("AWS_REGION")]
    test_mode: Annotated[bool, Env("CONFIG_RULE_TEST_MODE", flag)] = False


SETTINGS = Lazy(Settings)


def handle(event: Any, s3: Any, config: Any, *, region: str, test_mode: bool) -> dict[str, Any]:
    try:
        if not isinstance(event, dict) or not isinstance(event.get("invokingEvent"), str) or not event.get("resultToken"):
            raise UnknownInvocation("not an AWS Config rule invocation (invokingEvent/resultToken missing)")
        raw_parameters = json.loads(event.get("ruleParameters") or "{}")
        if not isinstance(raw_parameters, dict):
            raise BadParameters("ruleParameters is not a JSON object")
        params = RuleParameters.parse(raw_parameters)
        evaluations = evaluations_for(event, params, dal.S3Buckets(s3), region)
    except (UnknownInvocation, BadParameters, json.JSONDecodeError) as problem:
        reject(f"{problem} (nothing was reported)", event)
        return {"status": "rejected", "reason": str(problem)}
    dal.report(config, event["resultToken"], evaluations, test_mode)
    summary = {e["ComplianceResourceId"]: e["ComplianceType"] for e in evaluations}
    logger.info("evaluations reported", extra={"evaluations": summary})
    return {"status": "reported", "evaluations": summary}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s3, config = dal.clients()
    settings = SETTINGS.get()
    return handle(event, s3, config, region=settings.region, test_mode=settings.test_mode)
