// What /ready reports: whether the bridge can do its work now. The listener is up before any of it (the homeserver's
// transactions are queued meanwhile), so a load balancer or orchestrator needs this to tell "up" from "working".

/** One dependency's state, as /ready shows it. */
export interface CheckResult {
  readonly ok: boolean;
  /** Why not, for the operator (never a secret: states and public URLs only). */
  readonly detail?: string;
}

export interface ReadinessReport {
  /** Every check is ok. */
  readonly ready: boolean;
  /** Start-up has finished (database open, homeserver reached, bot and workers running); stays true until stop. */
  readonly started: boolean;
  readonly checks: { readonly database: CheckResult; readonly homeserver: CheckResult; readonly gatekeeper: CheckResult };
}

export interface ReadinessSources {
  /** One attempt to reach the homeserver. */
  probeHomeserver(): Promise<boolean>;
  /** The gatekeeper connection's state ("connected" when usable). */
  gatekeeperState(): string;
  /** How long a homeserver probe's answer is reused: /ready is unauthenticated and must not amplify requests. */
  readonly probeCacheMs?: number;
  readonly now?: () => number;
}

export class Readiness {
  #databaseReady = false;
  #started = false;
  #homeserverWaiting = "start-up has not reached the homeserver yet";
  #probe: { at: number; ok: boolean } | undefined;
  #probing: Promise<boolean> | undefined;

  constructor(private readonly sources: ReadinessSources) {}

  /** Migrations are done and the store is open. */
  databaseOpened(): void {
    this.#databaseReady = true;
  }

  /** Why start-up is not past the homeserver yet (shown until `started`). */
  waitingForHomeserver(detail: string): void {
    this.#homeserverWaiting = detail;
  }

  /** A probe made elsewhere (the start-up wait) counts as the latest answer. */
  homeserverAnswered(ok: boolean): void {
    this.#probe = { at: this.#now(), ok };
  }

  markStarted(): void {
    this.#started = true;
  }

  get started(): boolean {
    return this.#started;
  }

  async report(): Promise<ReadinessReport> {
    const database: CheckResult = this.#databaseReady ? { ok: true } : { ok: false, detail: "opening the database and running migrations" };
    let homeserver: CheckResult;
    if (!this.#started) homeserver = { ok: false, detail: this.#homeserverWaiting };
    else homeserver = (await this.#homeserverAnswers()) ? { ok: true } : { ok: false, detail: "the homeserver does not answer" };
    const state = this.sources.gatekeeperState();
    const gatekeeper: CheckResult = state === "connected" ? { ok: true } : { ok: false, detail: `connection ${state}` };
    return { ready: database.ok && homeserver.ok && gatekeeper.ok, started: this.#started, checks: { database, homeserver, gatekeeper } };
  }

  #now(): number {
    return (this.sources.now ?? Date.now)();
  }

  async #homeserverAnswers(): Promise<boolean> {
    const cacheMs = this.sources.probeCacheMs ?? 5_000;
    if (this.#probe && this.#now() - this.#probe.at < cacheMs) return this.#probe.ok;
    // Concurrent /ready calls share one probe.
    this.#probing ??= this.sources.probeHomeserver().then(
      (ok) => {
        this.#probe = { at: this.#now(), ok };
        this.#probing = undefined;
        return ok;
      },
      () => {
        this.#probe = { at: this.#now(), ok: false };
        this.#probing = undefined;
        return false;
      },
    );
    return this.#probing;
  }
}
