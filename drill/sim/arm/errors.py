"""ARM's error envelope `{"error": {"code", "message"}}` and the errors the surface answers.

Codes and wording: README.md (each marked VERIFIED or BELIEF there).
"""

from __future__ import annotations

from starlette.responses import JSONResponse


def arm_error(status: int, code: str, message: str, *, retry_after: int | None = None) -> JSONResponse:
    resp = JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def missing_api_version() -> JSONResponse:
    return arm_error(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def unsupported_api_version(version: str, rtype: str, supported: tuple[str, ...], loc: str) -> JSONResponse:
    return arm_error(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{loc}' and API version '{version}' for type "
        f"'{rtype.rsplit('/', 1)[-1]}'. The supported api-versions are '{', '.join(supported)}'.",
    )


def not_found(rtype: str, name: str, group: str) -> JSONResponse:
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{rtype}/{name}' under resource group '{group}' was not found. For more details "
        "please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def authorization_failed(client: str, object_id: str, action: str, scope: str) -> JSONResponse:
    return arm_error(
        403,
        "AuthorizationFailed",
        f"The client '{client}' with object id '{object_id}' does not have authorization to perform action "
        f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please "
        "refresh your credentials.",
    )
