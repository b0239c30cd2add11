"""Microsoft Graph v1.0 of the simulated tenant: routes, OData, and the directory, role and policy models."""
