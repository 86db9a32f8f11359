"""The one owner of MediVault's data-classification and backup tags (CONVENTIONS: one owner per rule).

``data-class=phi`` marks every resource that holds or protects protected health information: the
PHI buckets and the Macie quarantine bucket, the Aurora cluster (and its instances), the secrets
that open PHI stores (the database master secret, the cache AUTH secret) and the keys that encrypt
PHI (the data key, the backup keys). The tag-based denies key on it:

- the service control policies (``constructs/service_control_policies.py``: Object Lock changes
  and deletion of buckets tagged ``data-class=phi``);
- the permission sets (``constructs/permission_sets.py``: object access on PHI-tagged buckets,
  objects tagged ``data-class=phi``, ``secretsmanager:GetSecretValue`` on PHI-tagged secrets);
- the custom Config rule ``medivault-phi-bucket-lock`` (lock, versioning and data key of every
  PHI-tagged bucket).

S3 evaluates ``aws:ResourceTag`` on a general purpose bucket only once ABAC is enabled on it
(S3 User Guide, "Enabling ABAC in general purpose buckets"), so the PHI-tagged buckets also set
``AbacStatus: Enabled`` (``tag_phi_bucket``). ``backup=required`` selects resources for the AWS
Backup plan's tag selection (``backup_tag_selection``, used by ``stacks/backup_stack.py``).

One function per use of a tag, so no other module spells the key or the value:
``tag_phi`` / ``tag_phi_bucket`` / ``tag_backup`` write them, ``phi_object_tag`` is the
``key=value`` the Macie quarantine puts on each quarantined copy, ``phi_tag_parameters`` the
Config rule's input, ``backup_tag_selection`` the Backup plan's tag selection.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

PHI_TAG_KEY = "data-class"
PHI_TAG_VALUE = "phi"
BACKUP_TAG_KEY = "backup"
BACKUP_TAG_VALUE = "required"


def tag_phi(construct: IConstruct) -> None:
    """Tag ``construct`` and every taggable resource below it ``data-class=phi``."""
    cdk.Tags.of(construct).add(PHI_TAG_KEY, PHI_TAG_VALUE)


def tag_backup(construct: IConstruct) -> None:
    """Tag ``construct`` (and below) ``backup=required``: the backup plan's tag selection picks it up."""
    cdk.Tags.of(construct).add(BACKUP_TAG_KEY, BACKUP_TAG_VALUE)


def tag_phi_bucket(bucket: s3.IBucket) -> None:
    """Tag a bucket ``data-class=phi`` and turn S3 ABAC on, or ``aws:ResourceTag/data-class`` never matches it.

    With ABAC on, bucket tags change only through s3:TagResource/UntagResource (PutBucketAbac API
    reference); CloudFormation's AWS::S3::Bucket handlers hold both (its resource schema).
    """
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        raise TypeError("tag_phi_bucket: the bucket has no CfnBucket (an imported bucket cannot be tagged)")
    tag_phi(bucket)
    resource.abac_status = "Enabled"


def phi_object_tag() -> str:
    """``data-class=phi``: the object tag a quarantined copy carries (the permission sets deny on it)."""
    return f"{PHI_TAG_KEY}={PHI_TAG_VALUE}"


def phi_tag_parameters() -> dict[str, str]:
    """The tag a Config rule evaluates as PHI, as the rule's ``tagKey`` / ``tagValue`` input parameters."""
    return {"tagKey": PHI_TAG_KEY, "tagValue": PHI_TAG_VALUE}


def backup_tag_selection() -> backup.BackupResource:
    """The Backup plan's selection of everything tagged ``backup=required``."""
    return backup.BackupResource.from_tag(BACKUP_TAG_KEY, BACKUP_TAG_VALUE)
