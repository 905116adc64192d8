// The bridge runtime: wires the store, the Matrix side, the interop side and the core, and runs the three durable
// queues (Matrix inbound, interop outbox, interop inbox) until stopped.
import type { Logger } from "pino";
import { parseListenAddress, type BridgeConfig } from "../config/schema.js";
import { isPuppetUserId, puppetUserId } from "../config/identities.js";
import { loadRegistration } from "../config/registration.js";
import { createLogger, redactUri } from "../log.js";
import { MatrixClient } from "../matrix/client.js";
import { startAppserviceServer, type TransactionSink } from "../matrix/appservice-server.js";
import { InteropClient } from "../interop/client.js";
import { BridgeCore, type MatrixEphemeralEvent, type MatrixEvent } from "../core/bridge.js";
import { BridgeStore } from "../store/store.js";
import type { DatabaseTarget } from "../store/database.js";
import { StoreMaintenance } from "../store/maintenance.js";
import type { QueuedInbound } from "../store/appservice-queue.js";
import type { InboxEntry } from "../store/inbox.js";
import type { OutboxEntry } from "../store/outbox.js";
import { AppserviceMatrixSide } from "./matrix-side.js";
import { BridgeCrypto } from "./matrix-crypto.js";
import { InteropRemoteNetwork } from "./interop-side.js";
import { mediaBridgeFor } from "./media/index.js";
import { QueueWorker } from "./queue-worker.js";
import { AppserviceGapGuard } from "./appservice-gaps.js";
import { HomeserverCatchUp, type CatchUpRoom } from "./homeserver-catch-up.js";
import { Readiness } from "./readiness.js";
import { BridgeMetrics } from "./metrics.js";
import { startMetricsServer } from "./metrics-server.js";
import { StoreStats } from "../store/stats.js";
import { RuntimeOperations } from "./operations.js";
import { startProvisioningServer } from "./provisioning-server.js";
import { backoffDelay } from "../util/backoff.js";
import { sleep } from "../util/sleep.js";
import { onStaleRatchet } from "../protocol/signal/index.js";

/** A message that could not reach the gatekeeper for this long is given up on, and the sender is told. */
const OUTBOX_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** How often a message held for verification is looked at again (verifying makes it due at once). */
const HELD_RETRY_MS = 60_000;
/** How often the store is tidied: how long a delivered message's content may linger in the WAL. */
const MAINTENANCE_EVERY_MS = 5_000;

export interface BridgeRuntime {
  readonly core: BridgeCore;
  readonly store: BridgeStore;
  readonly appservicePort: number;
  /** The metrics listener's port, when metrics are enabled. */
  readonly metricsPort?: number;
  /** The provisioning API's port, when it is enabled. */
  readonly provisioningPort?: number;
  stop(): Promise<void>;
}

/** A bridge whose appservice listener is up; the rest starts behind it (see `started`). */
export interface LaunchedBridge {
  readonly appservicePort: number;
  readonly metricsPort?: number;
  /** Resolves once start-up is complete; rejects after cleaning up when it fails or stop() interrupts it. */
  readonly started: Promise<BridgeRuntime>;
  /** Stops whatever has started so far (at any point of start-up). */
  stop(): Promise<void>;
}

/** Thrown into `started` when stop() interrupts start-up. */
export class StartupInterrupted extends Error {
  constructor() {
    super("the bridge was stopped during start-up");
  }
}

/** Start-up waits for the homeserver this long at most between two tries. */
const HOMESERVER_WAIT_MAX_MS = 5_000;
const HOMESERVER_PROBE_TIMEOUT_MS = 3_000;

/** Starts the bridge and resolves once it runs (for callers that need nothing before that). */
export async function startBridge(config: BridgeConfig, log: Logger = createLogger({ ...config.logging, name: "matrix-dma-bridge" })): Promise<BridgeRuntime> {
  return (await launchBridge(config, log)).started;
}

/**
 * Opens the appservice listener at once (/health, /ready, and the homeserver's transactions, which wait for the
 * database and are then queued durably), then opens the store, waits for the homeserver for as long as it takes, and
 * starts the rest.
 */
export async function launchBridge(config: BridgeConfig, log: Logger = createLogger({ ...config.logging, name: "matrix-dma-bridge" })): Promise<LaunchedBridge> {
  const registration = loadRegistration(config.appservice.registration);
  const matrixClient = new MatrixClient({ homeserverUrl: config.homeserver.url, asToken: registration.as_token, logger: log.child({ part: "matrix" }) });
  let interop: InteropClient | undefined;
  const readiness = new Readiness({
    probeHomeserver: () => matrixClient.homeserverAnswers(HOMESERVER_PROBE_TIMEOUT_MS),
    gatekeeperState: () => interop?.status().state ?? "not started",
  });

  const metrics = new BridgeMetrics();
  const metricsServer = config.metrics.enabled ? await startMetricsServer(metrics, parseListenAddress(config.metrics.listen)!, log.child({ part: "metrics" })) : undefined;
  if (metricsServer) metrics.collectProcessMetrics();

  // What the listener hands requests to once the store is open; until then requests wait here.
  let wire!: (parts: ListenerParts) => void;
  let fail!: (err: unknown) => void;
  const wired = new Promise<ListenerParts>((resolve, reject) => ((wire = resolve), (fail = reject)));
  wired.catch(() => undefined);
  const sink: TransactionSink = {
    accept: async (txnId, txn) => {
      const received = performance.now();
      try {
        await (await wired).intake.accept(txnId, txn);
      } finally {
        metrics.transaction(txn, (performance.now() - received) / 1000);
      }
    },
  };

  const server = await startAppserviceServer({
    bindAddress: config.appservice.bind_address,
    port: config.appservice.port,
    hsToken: registration.hs_token,
    sink,
    queryUser: async (userId) => (await wired).queryUser(userId),
    readiness: async () => {
      const report = await readiness.report();
      return { ready: report.ready, body: report };
    },
    logger: log.child({ part: "appservice" }),
  });

  const abort = new AbortController();
  const teardown: (() => Promise<void>)[] = [];
  const started = (async (): Promise<BridgeRuntime> => {
    const check = () => {
      if (abort.signal.aborted) throw new StartupInterrupted();
    };
    const store = await BridgeStore.open(databaseTarget(config), { log: log.child({ part: "store" }) });
    teardown.push(() => store.close());
    check();
    const parts = wireBridge(config, log, registration.id, matrixClient, store, metrics, (client) => (interop = client));
    teardown.push(() => parts.interop.stop());
    wire(parts);
    readiness.databaseOpened();

    await waitForHomeserver(matrixClient, readiness, config.homeserver.url, log, abort.signal).catch((err) => {
      if (abort.signal.aborted) throw new StartupInterrupted();
      throw err;
    });
    readiness.waitingForHomeserver("setting up the bridge bot and its encryption");
    const stopParts = await parts.start(check);
    teardown.push(stopParts);
    let provisioningPort: number | undefined;
    if (config.provisioning.enabled) {
      const provisioning = await startProvisioningServer({
        listen: parseListenAddress(config.provisioning.listen)!,
        sharedSecret: config.provisioning.shared_secret!,
        service: parts.core.provisioning(),
        network: parts.network,
        safetyNumbers: (userId, contact, devices) => parts.network.safetyNumbers(userId, contact, devices),
        managementRoom: async (userId) => (await store.users.get(userId))?.managementRoom ?? null,
        log: log.child({ part: "provisioning" }),
      });
      teardown.push(() => provisioning.close());
      provisioningPort = provisioning.port;
    }
    readiness.markStarted();
    log.info({ port: server.port }, "bridge started");
    return {
      core: parts.core,
      store,
      appservicePort: server.port,
      ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
      ...(provisioningPort !== undefined ? { provisioningPort } : {}),
      stop,
    };
  })();

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      abort.abort();
      await started.catch(() => undefined);
      await server.close();
      await metricsServer?.close();
      for (const step of teardown.reverse()) await step().catch((err) => log.warn({ err }, "a part of the bridge did not stop cleanly"));
      log.info("bridge stopped");
    })();
    return stopping;
  }

  // A failed start-up cleans up after itself; the caller sees the error through `started`.
  const result = started.catch(async (err) => {
    fail(err);
    await stop();
    throw err;
  });
  return { appservicePort: server.port, ...(metricsServer ? { metricsPort: metricsServer.port } : {}), started: result, stop };
}

/** What the listener needs from the wired bridge. */
interface ListenerParts {
  readonly intake: TransactionSink;
  queryUser(userId: string): Promise<boolean>;
}

interface WiredBridge extends ListenerParts {
  readonly core: BridgeCore;
  readonly network: InteropRemoteNetwork;
  readonly interop: InteropClient;
  /** Starts crypto, the bot, the gatekeeper connection and the queues; returns how to stop them. */
  start(check: () => void): Promise<() => Promise<void>>;
}

/** Retries until the homeserver answers: a bridge started before its homeserver (a reboot, compose) just waits. */
async function waitForHomeserver(client: MatrixClient, readiness: Readiness, url: string, log: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const ok = await client.homeserverAnswers(HOMESERVER_PROBE_TIMEOUT_MS);
    readiness.homeserverAnswered(ok);
    if (ok) {
      if (attempt > 0) log.info({ homeserver: url }, "the homeserver answers; starting");
      return;
    }
    readiness.waitingForHomeserver(`waiting for the homeserver at ${url} to answer`);
    if (attempt % 12 === 0) log.warn({ homeserver: url, attempt: attempt + 1 }, "the homeserver does not answer; waiting for it (its transactions are accepted and queued meanwhile)");
    await sleep(backoffDelay(attempt, { initialMs: 500, maxMs: HOMESERVER_WAIT_MAX_MS }), signal);
  }
}

function wireBridge(
  config: BridgeConfig,
  log: Logger,
  appserviceId: string,
  matrixClient: MatrixClient,
  store: BridgeStore,
  metrics: BridgeMetrics,
  onInterop: (client: InteropClient) => void,
): WiredBridge {
  const matrix = new AppserviceMatrixSide(config, matrixClient, store, log.child({ part: "matrix" }));

  let remote: InteropRemoteNetwork | undefined;
  const interop = new InteropClient({
    url: config.gatekeeper.url,
    providerId: config.gatekeeper.provider_id,
    providerKey: config.gatekeeper.provider_key,
    log: log.child({ part: "interop" }),
    localDevice: (uri) => remote?.deviceStore(uri),
  });
  onInterop(interop);
  // The queues hear of new entries from the store itself (QueueTable.onQueued), after the commit; the interop side's
  // "queued" callback would only make each worker look a second time.
  const queuedByStore = () => {};
  // Envelopes arrive only after start-up below, when `core` exists.
  remote = new InteropRemoteNetwork(config.bridge.network_name, interop, store, log.child({ part: "interop" }), queuedByStore, (user) => core.acceptsRemoteFor(user), {
    identityChange: config.bridge.identity_change,
    reachableBy: (user, sender) => core.reachableBy(user, sender),
    senderLimits: { admit: (user, sender) => core.admitRemoteSender(user, sender), count: (sender) => core.countRemoteSender(sender) },
  });
  const media = mediaBridgeFor(config, matrixClient, matrix.botUserId, interop, log.child({ part: "media" }));
  const network = remote;
  const stats = new StoreStats(store.db);
  const ops = new RuntimeOperations(store, stats, network, () => crypto);
  const core = new BridgeCore({ config, store, matrix, remote, log: log.child({ part: "core" }), media, ops });
  const kindOf = (content: Uint8Array) => network.codec.decode(content).kind;

  // Matrix E2EE (started below, before the bot and puppets act); undefined when the config does not allow encryption.
  let crypto: BridgeCrypto | undefined;

  const inboundWorker = new QueueWorker<QueuedInbound>(
    {
      name: "matrix-inbound",
      // Filtered when the answer is in (not before the query): a room being caught up must not start an entry now.
      due: async (now, busy) => (await store.appservice.due(now, 64, busy)).filter((i) => !catchUp.holds(i)),
      onQueued: (l) => store.appservice.onQueued(l),
      key: (i) => i.roomId ?? "",
      attempts: (i) => i.attempts,
      handle: async (i) => {
        if (crypto?.isCryptoItem(i)) return crypto.handleCryptoItem(i);
        if (i.kind === "event") {
          // Encrypted events reach the core decrypted, or not at all (waiting for their key, or reported as lost).
          const ev = crypto ? await crypto.readEvent(i) : (i.payload as MatrixEvent);
          if (ev) await core.handleMatrixEvent(ev);
        }
        else if (i.kind === "ephemeral") await core.handleEphemeral(i.payload as MatrixEphemeralEvent);
        // Ephemeral and crypto items are consumed by features that are not enabled yet; they are dropped here.
      },
      done: (i) => store.appservice.done(i.seq),
      retryLater: (i, error, notBefore) => store.appservice.retryLater(i.seq, error, notBefore),
      giveUp: async (i, err) => {
        log.error({ err, seq: i.seq, kind: i.kind }, "a Matrix event could not be processed; dropping it");
        metrics.failed("matrix_to_remote", "internal");
        if (i.kind === "event") await core.onMatrixEventAbandoned(i.payload as MatrixEvent, err);
      },
      maxAttempts: 12,
    },
    log.child({ part: "queue" }),
  );

  // Events the homeserver dropped in a restart are found by reading the rooms once it is back.
  const catchUp = new HomeserverCatchUp({
    store,
    probe: () => matrixClient.homeserverAnswers(HOMESERVER_PROBE_TIMEOUT_MS),
    rooms: async () => {
      const rooms: CatchUpRoom[] = (await store.portals.withRooms()).map((p) => ({ roomId: p.roomId, reader: puppetUserId(config, network.ids.puppetKey(p.remoteUri)) }));
      for (const u of await store.users.all()) if (u.managementRoom) rooms.push({ roomId: u.managementRoom, reader: matrix.botUserId });
      return rooms;
    },
    history: (room, since) => matrix.recentEvents(room.reader, room.roomId, since),
    busy: (roomId) => inboundWorker.busy(roomId),
    kick: () => inboundWorker.kick(),
    log: log.child({ part: "catch-up" }),
  });

  // The appservice intake: transactions are queued in the homeserver's order, waiting out a skipped one (Synapse).
  const intake = new AppserviceGapGuard({
    store,
    onQueued: queuedByStore,
    // The homeserver did not see an answer of ours: it timed out on us or restarted, and a restart drops events.
    onResend: (txnId) => catchUp.suspect(`the homeserver sent transaction ${txnId} again`),
    log: log.child({ part: "appservice" }),
  });

  const outboxWorker = new QueueWorker<OutboxEntry>(
    {
      name: "outbox",
      due: (now, busy) => store.outbox.due(now, 1000, busy),
      onQueued: (l) => store.outbox.onQueued(l),
      key: (e) => `${e.matrixUser}\u0000${e.remoteUri}`,
      attempts: (e) => e.attempts,
      handle: async (e) => {
        const admission = await core.admitSend(e);
        if (admission.kind === "refused") return; // the user was told; the entry is done
        if (admission.kind === "held") throw new RetryAfter("over the user's messages per minute (bridge.limits)", admission.retryAfterMs);
        const outcome = await network.deliver(e);
        if (outcome.kind === "sent") {
          await core.onSent(e);
          metrics.bridged("matrix_to_remote", kindOf(e.content));
          return;
        }
        if (outcome.kind === "held") {
          // Until the user verifies: the verify command makes the outbox due again at once.
          await core.onSendHeld(e).catch((err) => log.warn({ err }, "could not post the held notice"));
          throw new RetryAfter(outcome.detail, HELD_RETRY_MS);
        }
        if (outcome.kind === "failed") {
          log.warn({ messageId: e.messageId, to: redactUri(e.remoteUri), reason: outcome.reason }, "message refused by the gatekeeper");
          await core.onSendFailed(e, outcome.reason, outcome.detail);
          metrics.failed("matrix_to_remote", outcome.reason);
          return;
        }
        if (Date.now() - e.createdAt > OUTBOX_MAX_AGE_MS) {
          await core.onSendFailed(e, "unreachable", `gave up after ${Math.round(OUTBOX_MAX_AGE_MS / 3_600_000)} hours: ${outcome.detail}`);
          metrics.failed("matrix_to_remote", "unreachable");
          return;
        }
        if (outcome.unreachable) await core.onSendDelayed(e, outcome.detail).catch((err) => log.warn({ err }, "could not post the delay notice"));
        if (outcome.rateLimited) await core.onSendRateLimited(e, outcome.afterMs).catch((err) => log.warn({ err }, "could not post the rate-limit notice"));
        throw new RetryAfter(outcome.detail, outcome.afterMs);
      },
      done: (e) => store.outbox.remove(e.seq),
      retryLater: (e, error, notBefore) => store.outbox.retryLater(e.seq, error, notBefore),
      giveUp: async (e, err) => {
        metrics.failed("matrix_to_remote", "internal");
        await core.onSendFailed(e, "internal", err instanceof Error ? err.message : String(err));
      },
      // Unreachable gatekeepers are bounded by OUTBOX_MAX_AGE_MS instead of a count.
      maxAttempts: Number.POSITIVE_INFINITY,
    },
    log.child({ part: "queue" }),
  );

  const inboxWorker = new QueueWorker<InboxEntry>(
    {
      name: "inbox",
      due: (now, busy) => store.inbox.due(now, 1000, busy),
      onQueued: (l) => store.inbox.onQueued(l),
      key: (e) => `${e.matrixUser}\u0000${e.remoteUri}`,
      attempts: (e) => e.attempts,
      handle: async (e) => {
        await core.handleRemoteEntry(e);
        metrics.bridged("remote_to_matrix", kindOf(e.content));
      },
      done: (e) => store.inbox.remove(e.seq),
      retryLater: (e, error, notBefore) => store.inbox.retryLater(e.seq, error, notBefore),
      giveUp: async (e, err) => {
        log.error({ err, messageId: e.messageId }, "a message from the remote network could not be posted to Matrix; dropping it");
        metrics.failed("remote_to_matrix", "internal");
        await core.onRemoteEntryAbandoned(e, err);
      },
      maxAttempts: 20,
    },
    log.child({ part: "queue" }),
  );


  let maintenance: NodeJS.Timeout | undefined;
  metrics.readFrom({ stats, openCryptoMachines: () => crypto?.engine.openMachines ?? 0 });
  const queryUser = async (userId: string): Promise<boolean> => {
    // The homeserver asks before an invite or lookup of a puppet nobody has created: only a dialable number
    // exists, and only its account is made (no device, profile or directory lookup until a chat needs them).
    const key = isPuppetUserId(config, userId);
    const contact = key === null ? null : network.ids.fromPuppetKey(key);
    if (contact === null) return false;
    await matrix.registerPuppet(network.ids.puppetKey(contact));
    return true;
  };

  const start = async (check: () => void): Promise<() => Promise<void>> => {
    const stops: (() => Promise<void>)[] = [];
    const stopAll = async () => {
      clearInterval(maintenance);
      for (const step of stops.reverse()) await step();
    };
    try {
      if (config.bridge.encryption.allow) {
        crypto = await BridgeCrypto.start({
          config,
          maxKeyWaitMs: config.bridge.encryption.max_key_wait_seconds * 1000,
          client: matrixClient,
          store,
          log: log.child({ part: "crypto" }),
          kickInbound: () => inboundWorker.kick(),
          notice: async (asUser, roomId, content, txnId) => void (await matrix.sendEvent(asUser, roomId, "m.room.message", content, txnId)),
          observer: metrics,
        });
        const started = crypto;
        stops.push(() => started.stop().catch((err) => log.warn({ err }, "stopping the crypto engine failed")));
        matrix.useEncryption(crypto);
      }
      // Should never fire (each device's state carries a version that refuses stale writes); if it does, the message
      // just encrypted will be thrown away by the recipient as a duplicate, so it must be loud.
      const stopRatchetWatch = onStaleRatchet((st) =>
        log.warn(
          { local: redactUri(st.local.uri), remote: redactUri(st.remote.uri), remoteDevice: st.remote.deviceId, chain: st.chain, counter: st.counter, highestUsed: st.highest },
          "a Signal ratchet state older than one already used was written: the recipient will drop the message as a duplicate",
        ),
      );
      stops.push(async () => stopRatchetWatch());
      check();
      await matrix.ensureBot();
      check();
      interop.onEnvelope((envelope) => network.receive(envelope));
      interop.on("state", (s) => log.info({ state: s.state, lastError: s.lastError }, "gatekeeper connection"));
      interop.on("state", (s) => metrics.gatekeeperState(s.state));
      interop.on("state", (s) => {
        if (s.state !== "connected") return;
        store.outbox
          .retryAllNow()
          .catch((err) => log.warn({ err }, "could not mark waiting messages due; they go at their retry time"))
          .finally(() => outboxWorker.kick());
      });
      interop.start();
      // Before the inbound worker: a catch-up a restart interrupted holds its rooms' later entries from the start.
      await catchUp.start();
      const stopWatching = matrixClient.onUnreachable(() => void catchUp.suspect("a request to the homeserver failed"));
      stops.push(async () => {
        stopWatching();
        await catchUp.stop();
      });
      inboundWorker.start();
      outboxWorker.start();
      inboxWorker.start();
      stops.push(async () => void (await Promise.all([inboundWorker.stop(), outboxWorker.stop(), inboxWorker.stop()])));
      maintenance = startMaintenance(store, log.child({ part: "store" }));
      core.startTimers();
      stops.push(() => core.stopTimers());
      const requestExpiry = startRequestExpiry(core, log.child({ part: "requests" }));
      stops.push(async () => clearInterval(requestExpiry));
      // A successful ping makes the homeserver send held-back transactions now instead of after its backoff.
      await matrixClient.pingHomeserver(appserviceId).catch((err) => log.warn({ err }, "homeserver ping failed"));
      return stopAll;
    } catch (err) {
      await stopAll();
      throw err;
    }
  };

  return { intake, queryUser, core, network, interop, start };
}

/** Where the config says the state lives: a PostgreSQL URL, or the SQLite file. */
export function databaseTarget(config: BridgeConfig): DatabaseTarget {
  const db = config.database;
  if (db.type === "postgres") return { url: db.url!, maxConnections: db.max_connections };
  return { path: db.path };
}

/** Prunes dedup metadata past its window and truncates the WAL after writes (see StoreMaintenance). */
function startMaintenance(store: BridgeStore, log: Logger): NodeJS.Timeout {
  const maintenance = new StoreMaintenance(store);
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const { pruned } = await maintenance.tick();
      if (pruned && pruned.seenEnvelopes + pruned.appserviceItems > 0) log.debug(pruned, "pruned old dedup records");
    } catch (err) {
      log.warn({ err }, "store maintenance failed; trying again later");
    } finally {
      running = false;
    }
  };
  void tick();
  return setInterval(() => void tick(), MAINTENANCE_EVERY_MS).unref();
}

/** Runs the bridge until SIGINT or SIGTERM (which also interrupt a start-up still waiting for the homeserver). */
export async function runBridge(config: BridgeConfig): Promise<void> {
  const log = createLogger({ ...config.logging, name: "matrix-dma-bridge" });
  const bridge = await launchBridge(config, log);
  const signalled = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  const first = await Promise.race([bridge.started.then(() => null), signalled]);
  const signal = first ?? (await signalled);
  log.info({ signal }, "stopping");
  await bridge.stop();
}

/** Thrown by a queue handler to be retried; carries the gatekeeper's own retry hint when it gave one. */
class RetryAfter extends Error {
  constructor(
    message: string,
    readonly afterMs?: number,
  ) {
    super(message);
  }
}

/** How often message requests past their expiry are closed. */
const REQUEST_EXPIRY_EVERY_MS = 30_000;

/** Closes expired message requests at start and then every half minute. */
function startRequestExpiry(core: BridgeCore, log: Logger): NodeJS.Timeout {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await core.expireRequests();
    } catch (err) {
      log.warn({ err }, "closing expired message requests failed; trying again later");
    } finally {
      running = false;
    }
  };
  void tick();
  return setInterval(() => void tick(), REQUEST_EXPIRY_EVERY_MS).unref();
}
