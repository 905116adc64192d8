// What a benchmark needs from the Matrix side: one Matrix user who opens portals by inviting puppets, sends text
// into them and sees what puppets post. Implemented over real Synapse and over the in-process fake homeserver.

/** A message a puppet posted, readable by the Matrix user from `at` (ms since the epoch); `encrypted` if it came so. */
export type MatrixArrival = (roomId: string, sender: string, text: string, at: number, encrypted: boolean) => void;

export interface BenchMatrixUser {
  readonly userId: string;
  /**
   * Opens a direct chat with `puppetUserId` and resolves with its room ID once the puppet has joined; fails after
   * `timeoutMs` (opening thousands at once takes the bridge a while, so the caller sizes the wait).
   */
  openPortal(puppetUserId: string, opts: { encrypted: boolean; timeoutMs: number }): Promise<string>;
  /** Sends a text message; resolves once the homeserver accepted it. */
  send(roomId: string, text: string): Promise<void>;
  onMessage(listener: MatrixArrival): () => void;
  stop(): Promise<void>;
}
