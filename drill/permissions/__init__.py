"""The permissions registry: every call the product makes, the grant it needs, and the features using it."""

from drill.permissions.api import (
    DRILL_FEATURES,
    SCHEDULER_FEATURES,
    calls_matching,
    delegated_scopes,
    features_of,
    for_identity,
    grant,
    required,
)
from drill.permissions.model import Call, Feature, Grant, Identity, Kind, Service
from drill.permissions.registry import REGISTRY

__all__ = [
    "DRILL_FEATURES",
    "REGISTRY",
    "SCHEDULER_FEATURES",
    "Call",
    "Feature",
    "Grant",
    "Identity",
    "Kind",
    "Service",
    "calls_matching",
    "delegated_scopes",
    "features_of",
    "for_identity",
    "grant",
    "required",
]
