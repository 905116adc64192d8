// Matrix user IDs the bridge owns: the bot and one puppet per remote phone number, derived from the
// configured template. The same derivation feeds the registration's exclusive namespace.
import { formatPhoneInternational } from "../protocol/uri.js";

/** Where the phone number's digits go in puppet_localpart_template. */
export const DIGITS_PLACEHOLDER = "{digits}";

export interface IdentityConfig {
  readonly homeserver: { readonly domain: string };
  readonly appservice: { readonly bot_localpart: string };
  readonly bridge: { readonly puppet_localpart_template: string };
}

export interface DisplayNameConfig {
  readonly bridge: { readonly puppet_displayname_template: string };
}

/** E.164 without the plus: country code first, at most 15 digits, never a leading 0. */
const E164_DIGITS = /^[1-9][0-9]{1,14}$/;

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function templateParts(config: IdentityConfig): [prefix: string, suffix: string] {
  const parts = config.bridge.puppet_localpart_template.split(DIGITS_PLACEHOLDER);
  if (parts.length !== 2) throw new Error(`puppet_localpart_template must contain ${DIGITS_PLACEHOLDER} exactly once`);
  return [parts[0] ?? "", parts[1] ?? ""];
}

export function puppetLocalpart(config: IdentityConfig, e164Digits: string): string {
  if (!E164_DIGITS.test(e164Digits)) {
    throw new RangeError("puppetLocalpart expects the digits of an E.164 number without '+' (2-15 digits, first not 0)");
  }
  const [prefix, suffix] = templateParts(config);
  return `${prefix}${e164Digits}${suffix}`;
}

export function puppetUserId(config: IdentityConfig, e164: string): string {
  if (!e164.startsWith("+")) throw new RangeError("puppetUserId expects an E.164 number starting with '+'");
  return `@${puppetLocalpart(config, e164.slice(1))}:${config.homeserver.domain}`;
}

export function botUserId(config: IdentityConfig): string {
  return `@${config.appservice.bot_localpart}:${config.homeserver.domain}`;
}

/** Anchored regex (JavaScript and Python syntax alike) matching every puppet user ID, as the registration lists it. */
export function puppetUserIdRegex(config: IdentityConfig): string {
  const [prefix, suffix] = templateParts(config);
  return `^@${escapeRegex(prefix)}[0-9]+${escapeRegex(suffix)}:${escapeRegex(config.homeserver.domain)}$`;
}

const matchers = new Map<string, RegExp>();

/** The E.164 digits a puppet user ID stands for, or null when `userId` is not one of our puppets. */
export function isPuppetUserId(config: IdentityConfig, userId: string): string | null {
  const [prefix, suffix] = templateParts(config);
  const key = `${prefix}\u0000${suffix}\u0000${config.homeserver.domain}`;
  let matcher = matchers.get(key);
  if (!matcher) {
    matcher = new RegExp(`^@${escapeRegex(prefix)}([1-9][0-9]{1,14})${escapeRegex(suffix)}:${escapeRegex(config.homeserver.domain)}$`);
    matchers.set(key, matcher);
  }
  return matcher.exec(userId)?.[1] ?? null;
}

/** A puppet's display name from the template; a missing or blank name falls back to the formatted number. */
export function puppetDisplayName(config: DisplayNameConfig, e164: string, name?: string | null): string {
  const phone = formatPhoneInternational(e164);
  const shownName = name?.trim() ? name.trim() : phone;
  return config.bridge.puppet_displayname_template.replace(/\{(name|phone)\}/g, (_, key: string) => (key === "name" ? shownName : phone));
}
