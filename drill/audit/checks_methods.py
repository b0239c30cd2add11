"""Posture checks BG.AM.1-6 (authentication methods) and BG.AS.1 (the custom authentication strength).

Shapes (Graph v1.0 resource pages): authenticationMethodsPolicy with authenticationMethodConfigurations;
fido2AuthenticationMethodConfiguration (state, includeTargets / excludeTargets, keyRestrictions =
fido2KeyRestrictions {isEnforced, enforcementType allow|block, aaGuids}, passkeyProfiles = passkeyProfile
{id, name, passkeyTypes, attestationEnforcement, keyRestrictions}, defaultPasskeyProfile);
passkeyAuthenticationMethodTarget (allowedPasskeyProfiles); fido2AuthenticationMethod (aaGuid, model);
authenticationStrengthPolicy (policyType, allowedCombinations, combinationConfigurations with
fido2CombinationConfiguration.allowedAAGUIDs).

Key restrictions apply at sign-in, so a restriction that would reject a registered key's AAGUID is a
lock-out, judged critical. Where several restrictions could apply (the method's own and each passkey
profile the accounts' targets allow) every one must accept every key: whether Entra needs one or all is not
documented plainly, so the check fails closed.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from drill.audit.checks_common import (
    Obj,
    account_fields,
    account_groups,
    account_label,
    break_glass_policies,
    group_id,
    label,
    lower_ids,
    per_account,
    policy_strength_id,
    registered_aaguids,
    strength_by_id,
    trim,
    unread,
)
from drill.audit.model import CheckFn, Outcome
from drill.keys.aaguids import model_name

if TYPE_CHECKING:
    from drill.audit.facts import AccountFacts, Facts
    from drill.playbook import Account, Playbook

FIDO2_TYPE = "#microsoft.graph.fido2authenticationmethodconfiguration"
CONFIG_KEYS = ("@odata.type", "id", "state", "includeTargets", "excludeTargets")
ALLOWED_METHODS = frozenset(
    {"#microsoft.graph.passwordauthenticationmethod", "#microsoft.graph.fido2authenticationmethod"}
)


def _configs(facts: Facts) -> list[Obj]:
    return list(facts.methods_policy.get("authenticationMethodConfigurations") or [])


def _is_fido2(config: Obj) -> bool:
    return (
        str(config.get("id", "")).lower() == "fido2"
        or str(config.get("@odata.type", "")).lower() == FIDO2_TYPE
    )


def _fido2(facts: Facts) -> Obj | None:
    return next((c for c in _configs(facts) if _is_fido2(c)), None)


def _target_hits(target: Obj, facts: Facts, acc: AccountFacts) -> bool:
    """authenticationMethodTarget: targetType group with id "all_users" or a group id (or a user id)."""
    tid = str(target.get("id", "")).lower()
    return tid == "all_users" or tid == acc.object_id.lower() or tid in account_groups(facts, acc)


def _covering_targets(config: Obj, facts: Facts, acc: AccountFacts) -> list[Obj]:
    """The include targets that reach the account, [] when an exclude target removes it."""
    if any(_target_hits(t, facts, acc) for t in config.get("excludeTargets") or []):
        return []
    if "includeTargets" not in config:
        # No include targets listed: taken as reaching everyone (fail closed for "excluded elsewhere").
        return [{"id": "all_users", "targetType": "group", "note": "no includeTargets listed"}]
    return [t for t in config.get("includeTargets") or [] if _target_hits(t, facts, acc)]


METHOD_FACTS = ("methods_policy", "group", "group_members")


def check_fido2_enabled(facts: Facts, playbook: Playbook) -> Outcome:
    err = unread(facts, *METHOD_FACTS, *account_fields(facts, playbook, "member_of"))
    if err:
        return err
    config = _fido2(facts)
    if config is None:
        return Outcome.failed("the methods policy has no Passkey (FIDO2) configuration")
    ev = [trim(config, *CONFIG_KEYS)]
    if config.get("state") != "enabled":
        return Outcome.failed(
            f"Passkey (FIDO2) is {config.get('state')!r}, not enabled", ev, ["Passkey (FIDO2)"]
        )
    gid = group_id(playbook)
    includes = lower_ids(t.get("id") for t in config.get("includeTargets") or [])
    offenders = [
        account_label(facts, acc.name) for acc in facts.accounts if not _covering_targets(config, facts, acc)
    ]
    offenders += [account_label(facts, a.name) for a in playbook.accounts if facts.account(a.name) is None]
    if offenders:
        return Outcome.failed(
            f"Passkey (FIDO2) does not reach: {', '.join(offenders)} (not targeted, or excluded)",
            ev,
            offenders,
        )
    if gid and gid in includes:
        return Outcome.passed("Passkey (FIDO2) is enabled and targets the break-glass group", ev)
    if "all_users" in includes:
        return Outcome.passed(
            "Passkey (FIDO2) is enabled for all users (which includes the group)",
            ev,
            note="targeted at all_users rather than at the group itself",
        )
    return Outcome.passed("Passkey (FIDO2) is enabled and reaches every account", ev)


def _restrictions(config: Obj, facts: Facts) -> list[tuple[str, Obj]]:
    """(where, fido2KeyRestrictions) that apply to the accounts: the method's own, and each passkey
    profile an include target reaching an account allows (defaultPasskeyProfile when a target names none)."""
    out: list[tuple[str, Obj]] = []
    if config.get("keyRestrictions"):
        out.append(("the Passkey (FIDO2) method", config["keyRestrictions"]))
    profiles = {str(p.get("id", "")).lower(): p for p in config.get("passkeyProfiles") or []}
    if not profiles:
        return out
    seen: set[str] = set()
    for acc in facts.accounts:
        for target in _covering_targets(config, facts, acc):
            ids = lower_ids(target.get("allowedPasskeyProfiles")) or lower_ids(
                [config.get("defaultPasskeyProfile")]
            )
            for pid in ids:
                if pid in seen:
                    continue
                seen.add(pid)
                profile = profiles.get(pid)
                if profile is None:
                    out.append((f"passkey profile {pid} (named by a target, not defined)", {"missing": True}))
                elif profile.get("keyRestrictions"):
                    out.append((f"passkey profile {label(profile)}", profile["keyRestrictions"]))
    return out


def _rejects(restriction: Obj, aaguid: str) -> str | None:
    if restriction.get("missing"):
        return "the profile does not exist"
    if restriction.get("isEnforced") is not True:
        return None
    listed = lower_ids(restriction.get("aaGuids"))
    kind = str(restriction.get("enforcementType", "")).lower()
    if kind == "allow":
        if not listed:
            return "an empty allow-list rejects every key"
        return None if aaguid in listed else "not on the allow-list"
    if kind == "block":
        return "on the block-list" if aaguid in listed else None
    return f"enforcementType {restriction.get('enforcementType')!r} is not allow or block"


def check_key_restrictions(facts: Facts, playbook: Playbook) -> Outcome:
    err = unread(facts, *METHOD_FACTS, *account_fields(facts, playbook, "fido2", "member_of"))
    if err:
        return err
    config = _fido2(facts)
    if config is None:
        return Outcome.failed("the methods policy has no Passkey (FIDO2) configuration")
    keys = registered_aaguids(facts)
    source = "registered keys"
    if not keys:
        source = "the playbook's expected AAGUIDs (no key is registered)"
        keys = {str(g).lower(): [f"{a.name}: expected key"] for a in playbook.accounts for g in a.key.aaguids}
    restrictions = _restrictions(config, facts)
    ev: list[Obj] = [{"where": w, "keyRestrictions": r} for w, r in restrictions]
    ev.append({"checked": source, "aaGuids": dict(keys)})
    offenders: list[str] = []
    for where, restriction in restrictions:
        for aaguid, holders in keys.items():
            why = _rejects(restriction, aaguid)
            if why:
                offenders.extend(f"{h} [{aaguid}]: {why} in {where}" for h in holders)
    if offenders:
        return Outcome.failed(f"a key restriction would lock out: {'; '.join(offenders)}", ev, offenders)
    enforced = [w for w, r in restrictions if r.get("isEnforced") is True]
    said = f"enforced by {', '.join(enforced)}" if enforced else "no restriction is enforced"
    return Outcome.passed(f"every one of the {source} is accepted ({said})", ev)


def check_passkey_profiles(facts: Facts, playbook: Playbook) -> Outcome:
    """Passkey profiles are in v1.0 (passkeyProfile; passkeyAuthenticationMethodTarget
    .allowedPasskeyProfiles).
    With profiles, the group's include target must name existing profiles that accept device-bound passkeys
    (the keys are hardware security keys)."""
    err = unread(facts, "methods_policy")
    if err:
        return err
    config = _fido2(facts)
    if config is None:
        return Outcome.failed("the methods policy has no Passkey (FIDO2) configuration")
    profiles = {str(p.get("id", "")).lower(): p for p in config.get("passkeyProfiles") or []}
    if not profiles:
        return Outcome.passed(
            "no passkey profiles are configured (nothing to scope)",
            [trim(config, "id", "passkeyProfiles")],
            note="passkey profiles absent",
        )
    gid = group_id(playbook)
    ev = [trim(config, "id", "includeTargets", "passkeyProfiles", "defaultPasskeyProfile")]
    target = next(
        (t for t in config.get("includeTargets") or [] if str(t.get("id", "")).lower() == gid), None
    )
    if target is None:
        return Outcome.failed(
            "passkey profiles exist but no include target names the break-glass group", ev, [str(gid)]
        )
    allowed = lower_ids(target.get("allowedPasskeyProfiles"))
    if not allowed:
        return Outcome.failed("the group's target names no passkey profile", ev, [str(gid)])
    problems = []
    for pid in sorted(allowed):
        profile = profiles.get(pid)
        if profile is None:
            problems.append(f"profile {pid} does not exist")
        elif "devicebound" not in str(profile.get("passkeyTypes", "")).lower():
            problems.append(
                f"{label(profile)} does not allow device-bound passkeys ({profile.get('passkeyTypes')})"
            )
    if problems:
        return Outcome.failed("; ".join(problems), ev, problems)
    names = ", ".join(label(profiles[p]) for p in sorted(allowed))
    return Outcome.passed(f"the group's target is scoped to passkey profile(s) {names}", ev)


def check_other_methods(facts: Facts, playbook: Playbook) -> Outcome:
    err = unread(facts, *METHOD_FACTS, *account_fields(facts, playbook, "member_of"))
    if err:
        return err
    ev: list[Obj] = []
    offenders: list[str] = []
    for config in _configs(facts):
        if _is_fido2(config):
            continue
        ev.append(trim(config, *CONFIG_KEYS))
        if config.get("state") != "enabled":
            continue
        reached = [acc.name for acc in facts.accounts if _covering_targets(config, facts, acc)]
        if reached:
            offenders.append(f"{config.get('id')} (reaches {', '.join(reached)})")
    if not _configs(facts):
        return Outcome.error("the methods policy lists no authenticationMethodConfigurations: cannot judge")
    if offenders:
        return Outcome.failed(
            f"other enabled methods reach the accounts: {', '.join(offenders)}", ev, offenders
        )
    return Outcome.passed("every other method is disabled or excludes the accounts", ev)


def check_keys_only(facts: Facts, playbook: Playbook) -> Outcome:
    def judge(account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        expected = {str(g).lower() for g in account.key.aaguids}
        keys = [trim(k, "id", "displayName", "aaGuid", "model", "createdDateTime") for k in acc.fido2]
        others = [
            f"{str(m.get('@odata.type', '?')).rsplit('.', 1)[-1]} ({m.get('id')})"
            for m in acc.methods
            if str(m.get("@odata.type", "")).lower() not in ALLOWED_METHODS
        ]
        why = []
        if not acc.fido2:
            why.append("no FIDO2 key registered")
        elif not any(str(k.get("aaGuid", "")).lower() in expected for k in acc.fido2):
            why.append(f"no registered key is of the playbook's model(s) {', '.join(sorted(expected))}")
        if others:
            why.append(f"other methods: {', '.join(others)}")
        evidence = {"fido2": keys, "otherMethods": others, "expectedAAGUIDs": sorted(expected)}
        return ("; ".join(why) or None), evidence

    return per_account(
        facts,
        playbook,
        ("methods", "fido2"),
        judge,
        "each account has a FIDO2 key of its expected model, and no other method",
        "not FIDO2 keys only",
    )


def vendor_of(aaguid: str) -> str | None:
    """The vendor of a known model (drill/keys/aaguids.py names models, not vendors): Yubico for every
    YubiKey / "by Yubico" model; otherwise the model's name is taken as its own vendor."""
    try:
        model = model_name(uuid.UUID(aaguid))
    except ValueError:
        return None
    if model is None:
        return None
    if "yubi" in model.lower():
        return "Yubico"
    words = model.split()
    return " ".join(words[:2]) if words[:1] == ["Vendor"] else model


def check_vendors(facts: Facts, playbook: Playbook) -> Outcome:
    """At least two vendors: known AAGUIDs map to vendors, unknown ones count as distinct by AAGUID; the
    playbook's key.vendor must corroborate (two vendors there too), else a lookalike pair passes unseen."""
    err = unread(facts, *account_fields(facts, playbook, "fido2"))
    if err:
        return err
    keys = registered_aaguids(facts)
    vendors = {vendor_of(g) or f"unknown model {g}" for g in keys}
    declared = {a.key.vendor.strip().lower() for a in playbook.accounts}
    ev: list[Obj] = [
        {"aaGuids": {g: {"vendor": vendor_of(g), "keys": k} for g, k in keys.items()}},
        {"playbook_vendors": sorted(a.key.vendor for a in playbook.accounts)},
    ]
    details = {"vendors": sorted(vendors), "playbook_vendors": sorted(declared)}
    if len(vendors) < 2:
        return Outcome.failed(
            f"registered keys come from {len(vendors)} vendor(s): {', '.join(sorted(vendors)) or 'none'}",
            ev,
            sorted(keys),
            **details,
        )
    if len(declared) < 2:
        return Outcome.failed(
            "the registered AAGUIDs differ but the playbook names one vendor for every key: "
            "two models of one vendor do not protect against its flaw",
            ev,
            sorted(declared),
            **details,
        )
    return Outcome.passed(f"keys from {len(vendors)} vendors: {', '.join(sorted(vendors))}", ev, **details)


def _fido2_combination(strength: Obj) -> Obj | None:
    for conf in strength.get("combinationConfigurations") or []:
        if str(conf.get("@odata.type", "")).lower() == "#microsoft.graph.fido2combinationconfiguration" or (
            "fido2" in (conf.get("appliesToCombinations") or []) and "allowedAAGUIDs" in conf
        ):
            found: Obj = conf
            return found
    return None


def strength_problem(strength: Obj | None, keys: dict[str, list[str]]) -> str | None:
    if strength is None:
        return "the strength the policy names does not exist"
    problems = []
    if strength.get("policyType") != "custom":
        problems.append(f"policyType is {strength.get('policyType')!r}, not custom")
    combos = list(strength.get("allowedCombinations") or [])
    if combos != ["fido2"]:
        problems.append(f"allowedCombinations {combos} are not fido2 only")
    conf = _fido2_combination(strength)
    allowed = lower_ids((conf or {}).get("allowedAAGUIDs"))
    if not allowed:
        problems.append("no fido2 combination configuration restricts allowedAAGUIDs")
    else:
        missing = sorted(set(keys) - allowed)
        if missing:
            problems.append(f"allowedAAGUIDs leave out registered key(s) {', '.join(missing)}")
    return "; ".join(problems) or None


def check_strength(facts: Facts, playbook: Playbook) -> Outcome:
    err = unread(facts, "auth_strengths", "ca_policies", *account_fields(facts, playbook, "fido2"))
    if err:
        return err
    keys = registered_aaguids(facts)
    bg, missing = break_glass_policies(facts, playbook)
    used = [(p, policy_strength_id(p)) for p in bg if policy_strength_id(p)]
    ev: list[Obj] = [
        trim(s, "id", "displayName", "policyType", "allowedCombinations", "combinationConfigurations")
        for s in facts.auth_strengths
        if s.get("policyType") == "custom"
    ]
    if not used:
        extra = f" (expected policies not found: {', '.join(missing)})" if missing else ""
        return Outcome.failed(
            f"no break-glass CA policy (policy 1) requires an authentication strength{extra}",
            ev,
            [label(p) for p in bg],
        )
    reasons = []
    for policy, sid in used:
        strength = strength_by_id(facts, sid)
        problem = strength_problem(strength, keys)
        if problem is None:
            return Outcome.passed(
                f"policy 1 {label(policy)} uses {label(strength)}: fido2 only, restricted to "
                f"{len(keys)} registered AAGUID(s)",
                ev,
                policy=policy.get("id"),
                strength=sid,
            )
        reasons.append(f"{label(policy)} uses {label(strength, str(sid))}: {problem}")
    return Outcome.failed("; ".join(reasons), ev, [label(p) for p, _ in used])


CHECKS: dict[str, CheckFn] = {
    "BG.AM.1": check_fido2_enabled,
    "BG.AM.2": check_key_restrictions,
    "BG.AM.3": check_passkey_profiles,
    "BG.AM.4": check_other_methods,
    "BG.AM.5": check_keys_only,
    "BG.AM.6": check_vendors,
    "BG.AS.1": check_strength,
}
