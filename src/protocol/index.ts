// Interop protocol v1 for the bridge and the reference gatekeeper. The generated protobuf types live in ./gen/ and
// the Signal layer in ./signal/; import those directly.
export * from "./errors.js";
export * from "./limits.js";
export * from "./message-id.js";
export * from "./uri.js";
export * from "./padding.js";
export * from "./envelope.js";
export * from "./frames.js";
export * from "./content.js";
export * from "./content-builders.js";
export * from "./media-crypto.js";
export { Spool, type SpoolOptions } from "./spool.js";
