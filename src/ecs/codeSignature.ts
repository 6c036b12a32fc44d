import type { RawCodeSignature } from "../sensor/rawEvent.js";

/** CS_* bits from xnu osfmk/kern/cs_blobs.h that the mapping reads. */
export const CS_VALID = 0x1;
export const CS_ADHOC = 0x2;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_PLATFORM_BINARY = 0x4000000;
export const CS_SIGNED = 0x20000000;

/** process.code_signature.* as we write it. */
export interface EcsCodeSignature {
  exists: boolean;
  valid?: boolean;
  trusted?: boolean;
  signing_id?: string;
  team_id?: string;
  flags?: string;
}

/**
 * Kernel code-signing facts → ECS.
 * - exists: CS_SIGNED (without flags: a signing id was reported).
 * - valid: CS_VALID.
 * - trusted: valid, not ad-hoc or linker-signed, and an Apple platform binary or carrying a team id. The kernel
 *   has checked the code directory against a certificate chain only in that case; this is our rule, not
 *   Defend's documented algorithm, and we do not check certificates ourselves (so no subject_name, no status).
 * - team_id: "" when there is none, so Defend-style `length(team_id) == 0` tests work.
 * - flags: the CS_* word as a decimal string (ECS keyword).
 */
export function ecsCodeSignature(cs: RawCodeSignature): EcsCodeSignature {
  const teamId = cs.teamId ?? "";
  if (cs.flags === undefined) {
    const out: EcsCodeSignature = { exists: cs.signingId !== undefined && cs.signingId !== "", team_id: teamId };
    if (cs.signingId) out.signing_id = cs.signingId;
    return out;
  }
  const flags = cs.flags >>> 0;
  const exists = (flags & CS_SIGNED) !== 0;
  const valid = (flags & CS_VALID) !== 0;
  const adhoc = (flags & (CS_ADHOC | CS_LINKER_SIGNED)) !== 0;
  const platform = cs.platformBinary ?? (flags & CS_PLATFORM_BINARY) !== 0;
  const out: EcsCodeSignature = {
    exists,
    valid: exists && valid,
    trusted: exists && valid && !adhoc && (platform || teamId !== ""),
    team_id: teamId,
    flags: String(flags),
  };
  if (cs.signingId) out.signing_id = cs.signingId;
  return out;
}
