"""Microsoft's built-in Graph objects the simulator serves besides the tenant's own: directory role templates
(names and ids from the permissions reference) and the three built-in authentication strengths, as in the
v1.0 documentation example (reference/graph/examples/authenticationStrengthPolicies_builtin_list_v1.0.json).
"""

from __future__ import annotations

from typing import Any

from drill.sim.tenant import GLOBAL_ADMIN

PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
CA_ADMIN = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
REPORTS_READER = "4a5d8f65-41da-4de4-8968-e035b65339cf"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"

# fmt: off
BUILTIN_ROLES: tuple[tuple[str, str, str], ...] = (
    ("Global Administrator", GLOBAL_ADMIN,
     "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra "
     "identities."),
    ("Privileged Role Administrator", PRIVILEGED_ROLE_ADMIN,
     "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."),
    ("Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
     "Can access to view, set and reset authentication method information for any user (admin or "
     "non-admin)."),
    ("Conditional Access Administrator", CA_ADMIN, "Can manage Conditional Access capabilities."),
    ("Authentication Policy Administrator", "0526716b-113d-4c15-b2c8-68e3c22b9f80",
     "Can create and manage the authentication methods policy, tenant-wide MFA settings, password "
     "protection policy, and verifiable credentials."),
    ("Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f",
     "Can access to view, set and reset authentication method information for any non-admin user."),
    ("Global Reader", GLOBAL_READER,
     "Can read everything that a Global Administrator can, but not update anything."),
    ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
     "Can create and manage all aspects of app registrations and enterprise apps."),
    ("Reports Reader", REPORTS_READER, "Can read sign-in and audit reports."),
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de",
     "Can manage all aspects of the Exchange product."),
    ("Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c",
     "Members of this role can create/manage groups, create/manage groups settings like naming and "
     "expiration policies, and view groups activity and audit reports."),
    ("Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8",
     "Can reset passwords for non-administrators and Helpdesk Administrators."),
    ("Security Administrator", SECURITY_ADMIN,
     "Can read security information and reports, and manage configuration in Microsoft Entra ID and "
     "Office 365."),
    ("Security Reader", SECURITY_READER,
     "Can read security information and reports in Microsoft Entra ID and Office 365."),
)
# Directory roles allowed to read sign-in logs and Conditional Access policies with a delegated token.
REPORT_READER_ROLES = (GLOBAL_ADMIN, GLOBAL_READER, REPORTS_READER, SECURITY_ADMIN, SECURITY_READER)
CA_READER_ROLES = (GLOBAL_ADMIN, CA_ADMIN, GLOBAL_READER, SECURITY_ADMIN, SECURITY_READER)

STRENGTH_STAMP = "2021-12-01T00:00:00Z"
_MFA = ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush",
        "temporaryAccessPassOneTime", "temporaryAccessPassMultiUse", "password,microsoftAuthenticatorPush",
        "password,softwareOath", "password,hardwareOath", "password,x509CertificateSingleFactor",
        "password,x509CertificateMultiFactor", "password,sms", "password,voice", "federatedMultiFactor",
        "microsoftAuthenticatorPush,federatedSingleFactor", "softwareOath,federatedSingleFactor",
        "hardwareOath,federatedSingleFactor", "sms,federatedSingleFactor", "voice,federatedSingleFactor"]
BUILTIN_STRENGTHS: tuple[dict[str, Any], ...] = (
    {"id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication",
     "description": "Combinations of methods that satisfy strong authentication, such as a password + SMS",
     "allowedCombinations": _MFA},
    {"id": "00000000-0000-0000-0000-000000000003", "displayName": "Passwordless MFA",
     "description": "Passwordless methods that satisfy strong authentication, such as Passwordless sign-in "
                    "with the Microsoft Authenticator",
     "allowedCombinations": _MFA[:4]},
    {"id": "00000000-0000-0000-0000-000000000004", "displayName": "Phishing resistant MFA",
     "description": "Phishing resistant, Passwordless methods for the strongest authentication, such as a "
                    "FIDO2 security key",
     "allowedCombinations": _MFA[:3]},
)
# fmt: on
