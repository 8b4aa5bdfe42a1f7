"""The search attributes that make runs findable in the Temporal Web UI and by `segments list`."""

from temporalio.common import SearchAttributeKey

SEGMENT_ID = SearchAttributeKey.for_keyword("SegmentId")
TENANT_ID = SearchAttributeKey.for_keyword("TenantId")
SEGMENT_PHASE = SearchAttributeKey.for_keyword("SegmentPhase")

ALL_KEYS = (SEGMENT_ID, TENANT_ID, SEGMENT_PHASE)
