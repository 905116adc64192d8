// A bridge-side limit refused what the user asked for (bridge.limits); the message says when to try again.
export class LimitError extends Error {
  override readonly name = "LimitError";
}
