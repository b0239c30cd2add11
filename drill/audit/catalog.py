"""Every posture check's fixed description: id, severity, rationale, remediation and framework mappings.

Ids are stable (`BG.<area>.<n>`): ledgers, drift and Maester reports compare runs by them. Add a check with
a new number; never renumber. Framework titles are the public control names; where we map a check to a
control we say why in the rationale, so an auditor can disagree with a reason in hand.
"""

from __future__ import annotations

from drill.audit.model import CheckSpec, Mapping, Severity

MS_GUIDANCE = "https://learn.microsoft.com/entra/identity/role-based-access-control/security-emergency-access"

CIS_ACCOUNTS = Mapping(
    "CIS Microsoft 365 Foundations Benchmark",
    "1.1.2",
    "Ensure two emergency access accounts have been defined",
)
CIS_MONITORED = Mapping(
    "CIS Microsoft 365 Foundations Benchmark",
    "2.2.1",
    "Ensure emergency access account activity is monitored",
)
NIST_AC2 = Mapping("NIST SP 800-53 Rev. 5", "AC-2", "Account Management")
NIST_CP4 = Mapping("NIST SP 800-53 Rev. 5", "CP-4", "Contingency Plan Testing")
ISO_A530 = Mapping("ISO/IEC 27001:2022", "A.5.30", "ICT readiness for business continuity")
ISO_A82 = Mapping("ISO/IEC 27001:2022", "A.8.2", "Privileged access rights")
SOC2_CC6 = Mapping("SOC 2 (2017 TSC)", "CC6", "Logical and Physical Access Controls")
SOC2_CC75 = Mapping("SOC 2 (2017 TSC)", "CC7.5", "Recovery from identified security incidents")
MICROSOFT = Mapping(
    "Microsoft Entra guidance", "Emergency access accounts", "Manage emergency access accounts"
)

# The account exists and is usable in an emergency: access management and continuity.
ACCESS = (CIS_ACCOUNTS, NIST_AC2, ISO_A82, SOC2_CC6, MICROSOFT)
CONTINUITY = (CIS_ACCOUNTS, NIST_AC2, NIST_CP4, ISO_A530, ISO_A82, SOC2_CC6, SOC2_CC75, MICROSOFT)
MONITORING = (CIS_MONITORED, NIST_AC2, ISO_A82, SOC2_CC6, SOC2_CC75, MICROSOFT)
PROCEDURE = (CIS_ACCOUNTS, NIST_CP4, ISO_A530, SOC2_CC75, MICROSOFT)

ROLES_DOC = "https://learn.microsoft.com/entra/identity/role-based-access-control/best-practices"
AU_DOC = (
    "https://learn.microsoft.com/entra/identity/role-based-access-control/admin-units-restricted-management"
)
PIM_DOC = "https://learn.microsoft.com/graph/identity-governance-pim-rules-overview"
FIDO_DOC = "https://learn.microsoft.com/entra/identity/authentication/how-to-enable-passkey-fido2"
STRENGTH_DOC = "https://learn.microsoft.com/entra/identity/authentication/concept-authentication-strength-advanced-options"
CA_DOC = "https://learn.microsoft.com/entra/identity/conditional-access/policy-old-require-mfa-admin-portals"
WHATIF_DOC = "https://learn.microsoft.com/graph/api/conditionalaccessroot-evaluate"
DIAG_DOC = "https://learn.microsoft.com/entra/identity/monitoring-health/howto-integrate-activity-logs-with-azure-monitor-logs"
ALERT_DOC = "https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule"


def _c(
    id: str,
    area: str,
    title: str,
    severity: Severity,
    rationale: str,
    remediation: str,
    mappings: tuple[Mapping, ...],
    *references: str,
    advisory: bool = False,
) -> CheckSpec:
    return CheckSpec(
        id,
        area,
        title,
        severity,
        rationale,
        remediation,
        mappings,
        (MS_GUIDANCE, *references),
        advisory,
        READINGS[id],
    )


ONE = "One reading: the anchors (Microsoft's guidance, CIS, Maester, ScubaGear, Prowler) agree here."
# Which reading each check's verdict judges by. Where the anchors differ the outcome's details show both
# readings and the stricter one decides; the text says which and why.
READINGS: dict[str, str] = {
    "BG.ACC.1": ONE, "BG.ACC.2": ONE, "BG.ACC.3": ONE, "BG.ACC.4": ONE, "BG.ACC.5": ONE,
    "BG.ACC.6": "Stricter of two: the account's passwordPolicies (DisablePasswordExpiration) or its domain's "
                "passwordValidityPeriodInDays (never); an unset domain value is read as Microsoft's 90-day "
                "default, not as 'never'.",
    "BG.ACC.7": ONE, "BG.ACC.8": ONE,
    "BG.ACC.9": "Stricter of three signs, any one fails: userType Guest, a creationType of an invited or "
                "self-service account (Invitation, EmailVerified, SelfServiceSignUp), or #EXT# in the UPN. "
                "Tools that read userType alone miss a B2B member account.",
    "BG.GA.1": ONE,
    "BG.GA.2": "Two readings, shown both: principals holding the role (Microsoft's and ScubaGear's count: a "
               "group is one) and people (groups expanded to their members, each person once). The verdict "
               "takes the larger count against the playbook's ceiling.",
    "BG.GRP.1": ONE, "BG.GRP.2": ONE, "BG.AU.1": ONE,
    "BG.PIM.1": ONE, "BG.PIM.2": ONE, "BG.PIM.3": ONE, "BG.PIM.4": ONE, "BG.PIM.5": ONE,
    "BG.PIM.6": "Standing access is any active assignment at the unit's scope that PIM did not activate "
                "(assignmentType Assigned), time-bound or not; activations are the PIM path itself.",
    "BG.AM.1": ONE, "BG.AM.2": ONE, "BG.AM.3": ONE, "BG.AM.4": ONE, "BG.AM.5": ONE, "BG.AM.6": ONE,
    "BG.AS.1": ONE,
    "BG.CA.1": "Policy 1 must cover every sign-in: all resources, all client app types, all platforms, all "
               "locations, no device filter, risk or flow condition. Reading the policy, not one What-If "
               "case, so a narrowing no single sign-in shows is still seen.",
    "BG.CA.2": "As BG.CA.1: the session policy must cover every sign-in of the accounts.",
    "BG.CA.3": "Two readings, shown both: excluded from every other enabled policy (Microsoft, Maester) and "
               "from blocking policies only (some Prowler and ScubaGear checks). The verdict is the stricter, "
               "every policy. Exclusion is judged by effect (nested groups, user ids, roles count, as Entra "
               "applies them); an exclusion that does not go through the break-glass group warns.",
    "BG.CA.4": "As BG.CA.3, for report-only policies.",
    "BG.CA.5": "Entra's own What-If answer for enforced (enabled) policies; report-only policies that apply "
               "are listed in the details and judged by BG.CA.4.",
    "BG.DIAG.1": "The settings sending to the workspace, together (drill.monitoring.deployed.sending_to, the "
                 "preflight's rule): one setting may send SignInLogs and another AuditLogs.",
    "BG.AL.1": "Coverage counts only a rule scoped to a workspace the Entra logs reach, and must catch a "
               "successful and a failed sign-in, the directory change, and a non-interactive sign-in when "
               "the diagnostic settings send those.",
    "BG.AL.2": ONE, "BG.AL.3": ONE, "BG.AL.4": ONE,
    "BG.AL.5": ONE,
    "BG.AL.6": "Any mute period (muteActionsDuration above zero) fails: Azure Monitor sends no action for a "
               "second use inside it.",
    "BG.PROC.1": ONE, "BG.PROC.2": ONE, "BG.PROC.3": ONE, "BG.PROC.4": ONE,
}  # fmt: skip


C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

CATALOG: tuple[CheckSpec, ...] = (
    # -- 1. Accounts -----------------------------------------------------------------------------------------
    _c("BG.ACC.1", "Accounts", "At least two emergency access accounts", C,
       "One account is a single point of failure: a lost key or a locked account leaves no way in.",
       "Create a second cloud-only emergency access account with its own key and list both in the playbook.",
       CONTINUITY),
    _c("BG.ACC.2", "Accounts", "Accounts are cloud-only", C,
       "A synchronised account depends on the on-premises directory and its sync: the outage the account is for "
       "may be that one.",
       "Create the account in Entra ID directly (not synchronised) and remove the synchronised one.",
       CONTINUITY),
    _c("BG.ACC.3", "Accounts", "UPN on the tenant's initial onmicrosoft.com domain", H,
       "A custom domain can fail (DNS, federation) or be removed; the initial *.onmicrosoft.com domain cannot.",
       "Rename the account's UPN to the tenant's initial domain (`<name>.onmicrosoft.com`).",
       CONTINUITY),
    _c("BG.ACC.4", "Accounts", "Descriptive, not personal, account names", L,
       "An account named after a person is offboarded with that person, and hides its purpose from reviewers.",
       "Rename the account to describe its role (for example 'Emergency Access 01'), never a person's name.",
       ACCESS),
    _c("BG.ACC.5", "Accounts", "Accounts are enabled", C,
       "A disabled account fails at the moment it is needed.",
       "Enable the account (accountEnabled = true) and run a drill to prove it.",
       CONTINUITY),
    _c("BG.ACC.6", "Accounts", "No expiring credential", H,
       "An expired password or credential locks the account out exactly when nobody has used it for months.",
       "Set passwordPolicies to DisablePasswordExpiration, or a domain password validity of never.",
       CONTINUITY),
    _c("BG.ACC.7", "Accounts", "No MFA or SSPR method besides the keys", H,
       "Every extra method (phone, app, e-mail) is a way to phish or reset the most powerful account.",
       "Delete every authentication method but the FIDO2 keys (and the password) from the account.",
       ACCESS),
    _c("BG.ACC.8", "Accounts", "Unlicensed or minimal licence", L,
       "A licence brings mailboxes and apps the account never needs: more surface, more cost.",
       "Remove product licences from the account; it needs none to sign in and administer.",
       ACCESS, advisory=True),
    _c("BG.ACC.9", "Accounts", "Accounts are members of this tenant, not guests", C,
       "A guest (B2B) account signs in through its home tenant: that tenant's outage, policies or deletion "
       "lock it out, and its owner can be offboarded elsewhere. Its #EXT# UPN sits on the initial domain, so "
       "the domain check alone does not see it.",
       "Create the emergency access account as a member of this tenant (userType Member, not invited) and "
       "remove the guest from the roles and the group.",
       CONTINUITY),
    # -- 2. Global Administrator -------------------------------------------------------------------------------
    _c("BG.GA.1", "Global Administrator", "Direct, active, permanent, tenant-wide Global Administrator", C,
       "An eligible, time-bound, scoped or group-inherited role may be unusable in the emergency (PIM down, "
       "group changed, expiry).",
       "Assign Global Administrator to the account directly, active, with no end date, at directory scope '/'.",
       CONTINUITY, ROLES_DOC),
    _c("BG.GA.2", "Global Administrator", "Number of Global Administrators within the ceiling", M,
       "Every Global Administrator is a tenant-wide risk; the recommended design keeps at most four (Microsoft: "
       "fewer than five; CISA ScubaGear MS.AAD.7.1: two to eight). Counted both as principals holding the "
       "role and as people (groups expanded, each person once); the larger count decides.",
       "Reduce permanent Global Administrators to the break-glass accounts plus PIM-eligible admins.",
       ACCESS, ROLES_DOC),
    # -- 3. Group ------------------------------------------------------------------------------------------------
    _c("BG.GRP.1", "Group", "Role-assignable security group with assigned membership", H,
       "Only a role-assignable group is protected from changes by lesser admins; dynamic membership could add "
       "anyone.",
       "Create a security group with isAssignableToRole = true and assigned membership for the accounts.",
       ACCESS, AU_DOC),
    _c("BG.GRP.2", "Group", "The group holds exactly the accounts", H,
       "Policies target and exclude the group: an extra member inherits the exclusions, a missing account "
       "inherits every other policy.",
       "Make the group's members exactly the playbook's accounts.",
       ACCESS),
    # -- 4. Administrative unit --------------------------------------------------------------------------------
    _c("BG.AU.1", "Administrative unit", "A restricted-management unit holds the accounts and the group", H,
       "Restricted management stops tenant-level admins (other than Global Administrators) from resetting, "
       "disabling or re-keying the accounts.",
       "Create an administrative unit with isMemberManagementRestricted = true holding the accounts and the group.",
       ACCESS, AU_DOC),
    # -- 5. Managing the unit (custom role + PIM) -------------------------------------------------------------
    _c("BG.PIM.1", "Unit management", "A custom role scoped to the unit, eligible through PIM", M,
       "Day-to-day maintenance of the accounts needs a narrow, just-in-time role, not standing Global "
       "Administrator.",
       "Create a custom role for managing the accounts and make it eligible at the unit's scope through PIM.",
       ACCESS, PIM_DOC),
    _c("BG.PIM.6", "Unit management", "No standing access to the unit-management role", H,
       "An active assignment beside the PIM eligibility skips approval, justification and the authentication "
       "context: whoever holds it can reset or re-key the break-glass accounts at any time.",
       "Remove active (Assigned) role assignments at the unit's scope; keep only PIM eligibilities.",
       ACCESS, PIM_DOC),
    _c("BG.PIM.2", "Unit management", "Activation lasts at most one hour", M,
       "A long activation leaves the power over the break-glass accounts open long after the task.",
       "Set the role's maximum activation duration (Expiration_EndUser_Assignment) to PT1H or less.",
       ACCESS, PIM_DOC),
    _c("BG.PIM.3", "Unit management", "Activation requires approval", M,
       "A second person should see every change to the break-glass accounts.",
       "Require approval (Approval_EndUser_Assignment) with named approvers.",
       ACCESS, PIM_DOC),
    _c("BG.PIM.4", "Unit management", "Activation requires a justification", L,
       "The justification is the audit trail of why the accounts were touched.",
       "Require justification on activation (Enablement_EndUser_Assignment).",
       ACCESS, PIM_DOC),
    _c("BG.PIM.5", "Unit management", "Activation requires an authentication context with strong controls", M,
       "The context's Conditional Access policy must demand phishing-resistant MFA, a compliant device and a "
       "fresh sign-in every time, or activation is only as strong as the admin's session.",
       "Require an authentication context on activation (AuthenticationContext_EndUser_Assignment) and target "
       "it with an enabled CA policy: phishing-resistant strength, compliant device, sign-in frequency every time.",
       ACCESS, PIM_DOC),
    # -- 6. Authentication methods ---------------------------------------------------------------------------
    _c("BG.AM.1", "Authentication methods", "FIDO2/passkey enabled for the group", C,
       "If the passkey method is off, or not targeted at the accounts, the keys cannot sign in.",
       "Enable the Passkey (FIDO2) method and include the break-glass group in its targets.",
       CONTINUITY, FIDO_DOC),
    _c("BG.AM.2", "Authentication methods", "Key restrictions allow every registered key", C,
       "Key restrictions apply at sign-in: a restriction that leaves out a registered key's AAGUID locks the "
       "account out.",
       "Add the registered keys' AAGUIDs to the passkey key-restriction allow-list (or re-register the keys).",
       CONTINUITY, FIDO_DOC),
    _c("BG.AM.3", "Authentication methods", "Passkey profiles are scoped to the group", M,
       "A passkey profile that does not target the group may apply different (weaker or locking) rules.",
       "Target the break-glass group with the passkey profile that allows its keys.",
       ACCESS, FIDO_DOC),
    _c("BG.AM.4", "Authentication methods", "The group is excluded from every other method", H,
       "Any other enabled method that targets the accounts lets someone register a phishable factor.",
       "Exclude the break-glass group from every authentication method but Passkey (FIDO2).",
       ACCESS),
    _c("BG.AM.5", "Authentication methods", "Each account has FIDO2 keys, and only FIDO2 keys", C,
       "An account without a registered key cannot sign in under its authentication-strength policy.",
       "Register a FIDO2 key of an approved model for each account.",
       CONTINUITY),
    _c("BG.AM.6", "Authentication methods", "Keys from at least two vendors", M,
       "A firmware flaw or recall of one key model must not disable every account at once.",
       "Register keys from two different vendors (different AAGUIDs) across the accounts.",
       CONTINUITY),
    # -- 7. Authentication strength ----------------------------------------------------------------------------
    _c("BG.AS.1", "Authentication strength", "Custom strength: FIDO2 only, restricted to the keys' AAGUIDs", H,
       "The strength is what makes Conditional Access insist on the approved keys, and nothing else.",
       "Create a custom authentication strength allowing only fido2, with a combination configuration "
       "restricting allowedAAGUIDs to the approved models.",
       ACCESS, STRENGTH_DOC),
    # -- 8. Conditional Access ---------------------------------------------------------------------------------
    _c("BG.CA.1", "Conditional Access", "Policy 1 requires the strength of the group for every sign-in", C,
       "Without it any method the accounts hold can sign in; a policy narrowed to some platforms, client app "
       "types, locations or apps leaves the other sign-ins to whatever methods the accounts hold.",
       "Enable a CA policy: users = the break-glass group, all resources, grant = the custom strength, and no "
       "other condition (client apps, platforms, locations, device filter, risk) narrowing it.",
       ACCESS, CA_DOC),
    _c("BG.CA.2", "Conditional Access", "Policy 2: 4-hour sign-in frequency, never-persistent browser", M,
       "A break-glass session must not outlive the emergency on a shared workstation.",
       "Enable a CA policy for the group: sign-in frequency 4 hours, persistent browser session never.",
       ACCESS, CA_DOC),
    _c("BG.CA.3", "Conditional Access",
       "The accounts are excluded from every other enabled policy (warns if not through the group)", C,
       "Any other policy (MFA, device, location, block) can lock the accounts out in the very outage they "
       "are for. Entra applies exclusions to nested groups, user ids and roles, so the check fails only when "
       "an account is effectively not excluded; it warns, without failing, when an account is excluded "
       "some other way than through the break-glass group (a parent group, its user id, a role), because "
       "that exclusion does not follow the group when accounts are added or replaced.",
       "Exclude the break-glass group itself from every enabled policy except its own two (the accounts "
       "excluded by user id or a parent group as well is fine).",
       CONTINUITY, CA_DOC),
    _c("BG.CA.4", "Conditional Access",
       "No report-only policy would apply to the accounts (warns if not excluded through the group)", M,
       "A report-only policy is one click from enforcement: switched on, it would apply to the accounts. "
       "Judged by effective exclusion like BG.CA.3, warning when it does not go through the break-glass group.",
       "Exclude the break-glass group itself from report-only policies too.",
       CONTINUITY, CA_DOC),
    _c("BG.CA.5", "Conditional Access", "What-If: exactly the two policies apply to each account", H,
       "Reading policies misses what Entra evaluates (nested groups, roles, 'All users'); the What-If "
       "evaluation is Entra's own answer.",
       "Fix the policies the evaluation names until only the two break-glass policies apply.",
       CONTINUITY, WHATIF_DOC),
    # -- 9. Diagnostic settings ------------------------------------------------------------------------------
    _c("BG.DIAG.1", "Diagnostic settings", "Entra sends sign-in and audit logs to the workspace", C,
       "Without SignInLogs, NonInteractiveUserSignInLogs and AuditLogs in the workspace no alert can fire.",
       "Add an Entra diagnostic setting sending SignInLogs, NonInteractiveUserSignInLogs and AuditLogs to the "
       "workspace.",
       MONITORING, DIAG_DOC),
    # -- 10. Alerting --------------------------------------------------------------------------------------------
    _c("BG.AL.1", "Alerting", "The rules cover both accounts' sign-ins and audit activity", C,
       "Proven by running each deployed query over synthetic rows: pattern-matching the text is fooled by "
       "has_any, several rules, or a typo in an id. Failed sign-ins must alert too (they are an attack on the "
       "account), and a rule scoped to a workspace the Entra logs never reach watches nothing.",
       "Fix the rule queries so that a sign-in by (successful or failed, interactive or not), and a directory "
       "change touching, each account returns rows, and scope the rules to the workspace the logs reach.",
       MONITORING, ALERT_DOC),
    _c("BG.AL.2", "Alerting", "Rules run at most every 5 minutes and fire on more than 0 rows", H,
       "A slow or high-threshold rule tells the SOC too late, or never.",
       "Set evaluation frequency to PT5M or less and the threshold to 'greater than 0'.",
       MONITORING, ALERT_DOC),
    _c("BG.AL.6", "Alerting", "Rules do not mute their actions", H,
       "With muteActionsDuration set, a second use of an emergency account within the mute period fires the "
       "rule but sends no mail: the second use is exactly the one to see.",
       "Clear muteActionsDuration (Mute actions off) on every rule that watches the accounts.",
       MONITORING, ALERT_DOC),
    _c("BG.AL.3", "Alerting", "Rule identity holds Log Analytics Reader and Reader", H,
       "A rule running as a managed identity without read access queries nothing and fires nothing.",
       "Give the rule's managed identity Log Analytics Reader and Reader on the workspace.",
       MONITORING, ALERT_DOC),
    _c("BG.AL.4", "Alerting", "An action group e-mails the watched mailbox with a subject", H,
       "An alert nobody receives is not monitoring.",
       "Attach an action group with an e-mail receiver for the watched mailbox, and set a custom subject.",
       MONITORING, ALERT_DOC),
    _c("BG.AL.5", "Alerting", "Sentinel analytics rule: 5 minutes, > 0, one alert per event, incidents on", M,
       "If Sentinel watches the accounts its rule must not batch, delay or drop events.",
       "Set the rule to run every 5 minutes over 5 minutes, trigger on more than 0 results, event grouping "
       "AlertPerResult, and create incidents.",
       MONITORING, "https://learn.microsoft.com/azure/sentinel/create-analytics-rules"),
    # -- 11. Procedures ----------------------------------------------------------------------------------------
    _c("BG.PROC.1", "Procedures", "Each account's last PASS drill is within the cycle", H,
       "An untested account is an assumption; the ledger is the proof it worked.",
       "Run `drill run` for each overdue account.",
       PROCEDURE),
    _c("BG.PROC.2", "Procedures", "Keys are stored in distinct places", M,
       "One fire, flood or theft must not take every key.",
       "Keep each account's key in a different secure location and record it in the playbook.",
       PROCEDURE),
    _c("BG.PROC.3", "Procedures", "At least two authorised people per key", M,
       "One absent person must not block the emergency.",
       "Name at least two authorised people for each key in the playbook.",
       PROCEDURE),
    _c("BG.PROC.4", "Procedures", "Every authorised person practised in a drill within the period", M,
       "The people who may use the accounts must know how and when to use them; someone who never took part "
       "in a drill that passed learns the procedure in the emergency.",
       "Have each person named take part, as operator or witness, in a drill that passes "
       "(`drill run PLAYBOOK --account NAME --operator NAME --witness NAME`).",
       PROCEDURE),
)  # fmt: skip

BY_ID = {spec.id: spec for spec in CATALOG}
