// The bridge's client of a gatekeeper (interop protocol v1).
export { Backoff, type BackoffOptions } from "../util/backoff.js";
export {
  type EnvelopeHandler,
  InteropClient,
  type InteropClientOptions,
  type InteropStatus,
  type SendReport,
} from "./client.js";
export { CLOSE_REPLACED, CLOSE_TOKEN_EXPIRED, type ConnectionState, type ConnectionStatus, InteropConnection } from "./connection.js";
export { GatekeeperHttpError, InteropSendError, InteropUnavailableError, type SendErrorCode } from "./errors.js";
export { encryptForDevices, type FanoutRequest, type FanoutResult } from "./fanout.js";
export { type DeviceRef, type DirectoryEntry, GatekeeperApi, type ReportInput } from "./http-api.js";
export { type DecryptedEnvelope, decryptEnvelope, isAlreadyDecrypted } from "./receive.js";
export { ProviderTokens, type ProviderTokensOptions, TOKEN_LIFETIME_SECONDS, tokenAudience } from "./tokens.js";
