/**
 * Reading a configuration profile (.mobileconfig) where managed preferences were expected. MDM installs a profile
 * and macOS writes its settings to /Library/Managed Preferences/com.macsensor.agent.plist; an admin who points
 * `--managed` at the profile itself would otherwise see every key as "default". We say so, and read the settings
 * the profile would install, so `config show --managed profile.mobileconfig` previews a profile before it ships.
 */
import { isPlistDict, type PlistDict, type PlistValue } from "./plist/index.js";

export const PREFERENCE_DOMAIN = "com.macsensor.agent";

export interface ProfileSettings {
  /** The settings the profile installs for our domain, merged in payload order; undefined when it has none. */
  settings: PlistDict | undefined;
  /** Where they came from, e.g. `PayloadContent[0] com.apple.ManagedClient.preferences (Forced)`. */
  from: string[];
}

/** True for a configuration profile: a top-level PayloadContent array beside PayloadType "Configuration". */
export function isConfigurationProfile(root: PlistValue): root is PlistDict {
  return isPlistDict(root) && Array.isArray(root.PayloadContent) && root.PayloadType === "Configuration";
}

/**
 * The settings for com.macsensor.agent in a profile: from `com.apple.ManagedClient.preferences` payloads
 * (PayloadContent → domain → Forced[] → mcx_preference_settings) and from payloads whose PayloadType is the
 * domain itself (keys at the payload's top, Payload* bookkeeping left out).
 */
export function profileSettings(profile: PlistDict): ProfileSettings {
  const merged: PlistDict = {};
  const from: string[] = [];
  const payloads = Array.isArray(profile.PayloadContent) ? profile.PayloadContent : [];
  payloads.forEach((payload, index) => {
    if (!isPlistDict(payload)) return;
    if (payload.PayloadType === "com.apple.ManagedClient.preferences" && isPlistDict(payload.PayloadContent)) {
      const domain = payload.PayloadContent[PREFERENCE_DOMAIN];
      if (!isPlistDict(domain)) return;
      for (const level of ["Set-Once", "Often", "Forced"] as const) {
        const entries = domain[level];
        if (!Array.isArray(entries)) continue;
        for (const entry of entries) {
          if (isPlistDict(entry) && isPlistDict(entry.mcx_preference_settings)) {
            deepMerge(merged, entry.mcx_preference_settings);
            from.push(`PayloadContent[${index}] com.apple.ManagedClient.preferences (${level})`);
          }
        }
      }
    } else if (payload.PayloadType === PREFERENCE_DOMAIN) {
      const settings: PlistDict = {};
      for (const [key, value] of Object.entries(payload)) if (!/^Payload[A-Z]/.test(key)) settings[key] = value;
      deepMerge(merged, settings);
      from.push(`PayloadContent[${index}] ${PREFERENCE_DOMAIN}`);
    }
  });
  return { settings: from.length > 0 ? merged : undefined, from };
}

function deepMerge(into: PlistDict, from: PlistDict): void {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    if (isPlistDict(existing) && isPlistDict(value)) deepMerge(existing, value);
    else into[key] = isPlistDict(value) ? structuredClone(value) : value;
  }
}
