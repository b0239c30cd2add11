"""Posture checks: ca (placeholder until the area's checks land)."""

from __future__ import annotations

from drill.audit.model import CheckFn

CHECKS: dict[str, CheckFn] = {}
