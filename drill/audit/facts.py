"""What the posture audit read, in the services' own shapes, before any check judges it.

Reading and judging are split so every check is a pure function over these facts: the same check runs on a
fixture in a unit test and on what Graph and ARM answered in production, and the evidence a finding shows
is exactly the object it was judged on. Objects keep Microsoft's property names (Graph v1.0 JSON, ARM REST
JSON, camelCase), never an SDK's snake_case, so an auditor can compare them with Graph Explorer or the
portal's JSON view.

A fact that could not be read is recorded in `unread` with the reason, and every check that needs it
reports ERROR (which fails the audit): an unreadable object never reads as "absent" or as "fine".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Obj = dict[str, Any]


@dataclass
class AccountFacts:
    """One playbook account as the directory knows it (keyed by the playbook's account name)."""

    name: str
    object_id: str
    # GET /users/{object_id}?$select=id,userPrincipalName,displayName,accountEnabled,onPremisesSyncEnabled,
    #   passwordPolicies,userType,createdDateTime,assignedLicenses,creationType ;
    # None when Graph answered 404.
    user: Obj | None = None
    # GET /users/{id}/authentication/methods (each with "@odata.type", e.g.
    # "#microsoft.graph.fido2AuthenticationMethod")
    methods: list[Obj] = field(default_factory=list)
    # GET /users/{id}/authentication/fido2Methods (id, displayName, aaGuid, model, createdDateTime)
    fido2: list[Obj] = field(default_factory=list)
    # GET /users/{id}/transitiveMemberOf?$select=id,displayName,roleTemplateId,isMemberManagementRestricted
    # (groups, administrative units and directory roles, each with "@odata.type")
    member_of: list[Obj] = field(default_factory=list)
    # The user's assignedLicenses (skuId, disabledPlans): GET /users/{id}/licenseDetails has no application
    # permission ("Application: Not supported", learn.microsoft.com/graph/api/user-list-licensedetails), so
    # the app-only observer reads the licences from the user object (empty: unlicensed).
    licenses: list[Obj] = field(default_factory=list)
    # POST /identity/conditionalAccess/evaluate for this account, a Windows browser sign-in to the Azure
    # portal (c44b4083-...; What If needs one application, and every "All resources" policy applies to it):
    # the whatIfAnalysisResult items (policy id, displayName, analysisReasons, policyApplies).
    what_if: list[Obj] = field(default_factory=list)


@dataclass
class Facts:
    """Everything one audit read. Field comments name the call that fills each field."""

    tenant_id: str
    read_at: datetime
    accounts: list[AccountFacts] = field(default_factory=list)
    # GET /domains?$select=id,isInitial,isDefault,isVerified,passwordValidityPeriodInDays
    domains: list[Obj] = field(default_factory=list)
    # GET /roleManagement/directory/roleAssignmentScheduleInstances?$filter=roleDefinitionId eq '<GA>'
    # (every principal: the ceiling counts them) and .../roleEligibilityScheduleInstances likewise.
    # Without Entra ID P2 the reader falls back to /roleManagement/directory/roleAssignments and says so
    # in `notes`: those items get assignmentType "Assigned", memberType "Direct", endDateTime null added
    # (the fallback sees active direct assignments only), and ga_eligibilities stays empty.
    ga_assignments: list[Obj] = field(default_factory=list)
    ga_eligibilities: list[Obj] = field(default_factory=list)
    # Who holds GA: principalId (lower-case) of each instance above that is not memberType Group and not a
    # playbook account -> {"id", "@odata.type" ("#microsoft.graph.user" | "#microsoft.graph.group" | None
    # when neither read found it, e.g. a service principal), displayName, userPrincipalName, and for a group
    # "members"}: GET /users/{id}?$select=id,displayName,userPrincipalName and
    # GET /groups/{id}/members?$select=id,displayName,userPrincipalName (a 404 on both: neither).
    ga_principals: dict[str, Obj] = field(default_factory=dict)
    # GET /groups/{conditional_access.break_glass_group_id}?$select=id,displayName,isAssignableToRole,
    #   securityEnabled,mailEnabled,groupTypes,membershipRule ; and GET /groups/{id}/members
    #   ?$select=id,displayName,userPrincipalName (each with "@odata.type").
    group: Obj | None = None
    group_members: list[Obj] = field(default_factory=list)
    # The administrative units the accounts belong to (from member_of), each
    # GET /directory/administrativeUnits/{id} (isMemberManagementRestricted, ...) with its members under
    # "members" (GET .../members?$select=id,displayName: each member with "@odata.type").
    admin_units: list[Obj] = field(default_factory=list)
    # Role assignments and eligibilities scoped to those units
    # (directoryScopeId eq '/administrativeUnits/{id}'):
    # roleAssignmentScheduleInstances and roleEligibilityScheduleInstances, and the role definitions they
    # name (GET /roleManagement/directory/roleDefinitions/{id}).
    unit_assignments: list[Obj] = field(default_factory=list)
    unit_eligibilities: list[Obj] = field(default_factory=list)
    unit_roles: list[Obj] = field(default_factory=list)
    # roleDefinitionId -> its PIM settings: GET /policies/roleManagementPolicyAssignments
    #   ?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{id}'
    #   &$expand=policy($expand=rules)
    #   -> the unifiedRoleManagementPolicy with "rules".
    role_policies: dict[str, Obj] = field(default_factory=dict)
    # GET /identity/conditionalAccess/authenticationContextClassReferences
    auth_contexts: list[Obj] = field(default_factory=list)
    # GET /policies/authenticationMethodsPolicy (with authenticationMethodConfigurations)
    methods_policy: Obj = field(default_factory=dict)
    # GET /policies/authenticationStrengthPolicies (built-in and custom)
    auth_strengths: list[Obj] = field(default_factory=list)
    # GET /identity/conditionalAccess/policies (every page)
    ca_policies: list[Obj] = field(default_factory=list)
    # ARM: GET /providers/microsoft.aadiam/diagnosticSettings
    diagnostic_settings: list[Obj] = field(default_factory=list)
    # ARM answered that read with 403 (applications are often refused there whatever their roles).
    diagnostic_settings_forbidden: bool = False
    # ARM: the playbook's monitoring.rules, each GET .../scheduledQueryRules/{name} (with "identity")
    alert_rules: list[Obj] = field(default_factory=list)
    # ARM: principalId -> role assignments readable for it at the workspace scope, each with the role
    # definition's roleName resolved under "roleName".
    identity_roles: dict[str, list[Obj]] = field(default_factory=dict)
    # ARM: action group resource id (lower-cased) -> the action group
    action_groups: dict[str, Obj] = field(default_factory=dict)
    # ARM: GET {workspace}/providers/Microsoft.SecurityInsights/alertRules ; None when the workspace has no
    # Microsoft Sentinel (the check is then not applicable unless the playbook names a rule).
    sentinel_rules: list[Obj] | None = None
    # rule resource id -> account name -> {"signin": bool, "audit": bool}: whether the rule's deployed
    # query returned the synthetic sign-in row / audit row of that account (drill/audit/synthetic.py).
    coverage: dict[str, dict[str, dict[str, bool]]] = field(default_factory=dict)
    # Ledger: account name -> the finished_at (ISO 8601) of its last PASS drill, None when it never passed.
    last_pass: dict[str, str | None] = field(default_factory=dict)
    # Ledger: the tenant's verified PASS drill lines (drill_id, account, ended_at, started_at, operator,
    # witness): who took part, for BG.PROC.4.
    passed_drills: list[Obj] = field(default_factory=list)
    # Fact name (a field above, or "accounts.<name>.<field>") -> why it could not be read.
    unread: dict[str, str] = field(default_factory=dict)
    # What the reader wants an auditor to know (a fallback it took, a licence it lacked).
    notes: list[str] = field(default_factory=list)
    # Hosts a reader could not reach at all (DNS, refused, untrusted TLS) -> the one line naming the fix.
    # A reader stops calling a host once it is here: every further call would fail the same way.
    unreachable: dict[str, str] = field(default_factory=dict)
    # How many reads got an answer from a service (any status): 0 with hosts unreachable = nothing read.
    answered: int = 0
    # Requests made, per service, for the bench and the report: "graph" counts HTTP requests (a $batch
    # envelope is one), "graph_batched" the Graph requests inside them (what Graph's throttling counts).
    requests: dict[str, int] = field(default_factory=dict)

    def account(self, name: str) -> AccountFacts | None:
        return next((a for a in self.accounts if a.name == name), None)
