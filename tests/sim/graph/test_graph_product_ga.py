"""The product's own Graph client (drill.clients) and GA decision (drill.steps.ga_proof.classify) against the
simulator, healthy and under each role fault: each must come out as the failure the drill reports."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graph_support import EA01, StaticCredential

from drill.sim.faults import apply_fault
from drill.sim.server import SimServer


async def _close(client: Any) -> None:
    # msgraph-core's AsyncGraphTransport lacks aclose(): close the pool it wraps (see _support.graph_client)
    await client.request_adapter._http_client._transport.transport.aclose()


def _proof(sim: SimServer, token: str) -> tuple[bool, str]:
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    from drill.clients import graph_client, graph_scopes
    from drill.clouds import Cloud
    from drill.steps.ga_proof import SCOPES, classify, instance_dict

    cloud = Cloud(name="sim", authority_host=sim.base_url, graph_endpoint=sim.base_url,
                  logs_endpoint=sim.base_url, logs_audience="https://api.loganalytics.io",
                  ca_bundle=str(sim.ca_path), graph_audience="https://graph.microsoft.com")  # fmt: skip
    client = graph_client(StaticCredential(token), cloud, graph_scopes(cloud, SCOPES))

    async def go() -> tuple[bool, str]:
        from msgraph.generated.role_management.directory.role_assignment_schedule_instances.role_assignment_schedule_instances_request_builder import (  # noqa: E501
            RoleAssignmentScheduleInstancesRequestBuilder as Instances,
        )
        from msgraph.generated.role_management.directory.role_eligibility_schedule_instances.role_eligibility_schedule_instances_request_builder import (  # noqa: E501
            RoleEligibilityScheduleInstancesRequestBuilder as Eligible,
        )

        flt = f"principalId eq '{EA01}'"
        try:
            active = await client.role_management.directory.role_assignment_schedule_instances.get(
                request_configuration=RequestConfiguration(
                    query_parameters=Instances.RoleAssignmentScheduleInstancesRequestBuilderGetQueryParameters(
                        filter=flt
                    )
                )
            )
            eligible = await client.role_management.directory.role_eligibility_schedule_instances.get(
                request_configuration=RequestConfiguration(
                    query_parameters=Eligible.RoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters(
                        filter=flt
                    )
                )
            )
        finally:
            await _close(client)
        return classify(
            [instance_dict(i) for i in active.value], [instance_dict(i) for i in eligible.value], EA01
        )

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("fault", "passes", "says"),
    [
        (None, True, "direct, permanent"),
        ("ga-removed", False, "no Global Administrator assignment"),
        ("ga-eligible-only", False, "eligible only"),
        ("ga-time-bound", False, "time-bound"),
        ("ga-group-only", False, "Group membership only"),
    ],
)
def test_product_ga_decision(
    sim: SimServer, delegated: Any, fault: str | None, passes: bool, says: str
) -> None:
    if fault:
        apply_fault(sim.state, fault)
    ok, reason = _proof(sim, delegated(EA01, scopes="User.Read RoleManagement.Read.Directory"))
    assert ok is passes
    assert says in reason
