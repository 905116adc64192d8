// The bridge runtime: wires the store, the Matrix side, the interop side and the core, and runs the three durable
// queues (Matrix inbound, interop outbox, interop inbox) until stopped.
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/schema.js";
import { isPuppetUserId } from "../config/identities.js";
import { loadRegistration } from "../config/registration.js";
import { createLogger, redactUri } from "../log.js";
import { MatrixClient } from "../matrix/client.js";
import { startAppserviceServer, type AppserviceServer } from "../matrix/appservice-server.js";
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
  stop(): Promise<void>;
}

export async function startBridge(config: BridgeConfig, log: Logger = createLogger({ ...config.logging, name: "matrix-dma-bridge" })): Promise<BridgeRuntime> {
  const registration = loadRegistration(config.appservice.registration);
  const store = await BridgeStore.open(databaseTarget(config), { log: log.child({ part: "store" }) });
  const matrixClient = new MatrixClient({ homeserverUrl: config.homeserver.url, asToken: registration.as_token, logger: log.child({ part: "matrix" }) });
  const matrix = new AppserviceMatrixSide(config, matrixClient, store, log.child({ part: "matrix" }));

  let remote: InteropRemoteNetwork | undefined;
  const interop = new InteropClient({
    url: config.gatekeeper.url,
    providerId: config.gatekeeper.provider_id,
    providerKey: config.gatekeeper.provider_key,
    log: log.child({ part: "interop" }),
    localDevice: (uri) => remote?.deviceStore(uri),
  });
  const kickAll = () => {
    inboundWorker.kick();
    outboxWorker.kick();
    inboxWorker.kick();
  };
  // Envelopes arrive only after start-up below, when `core` exists.
  remote = new InteropRemoteNetwork(config.bridge.network_name, interop, store, log.child({ part: "interop" }), kickAll, (user) => core.acceptsRemoteFor(user), {
    identityChange: config.bridge.identity_change,
    reachableBy: (user, sender) => core.reachableBy(user, sender),
  });
  const media = mediaBridgeFor(config, matrixClient, matrix.botUserId, interop, log.child({ part: "media" }));
  const core = new BridgeCore({ config, store, matrix, remote, log: log.child({ part: "core" }), media });
  const network = remote;

  // Matrix E2EE (started below, before the bot and puppets act); undefined when the config does not allow encryption.
  let crypto: BridgeCrypto | undefined;

  const inboundWorker = new QueueWorker<QueuedInbound>(
    {
      name: "matrix-inbound",
      due: (now) => store.appservice.due(now, 64),
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
        if (i.kind === "event") await core.onMatrixEventAbandoned(i.payload as MatrixEvent, err);
      },
      maxAttempts: 12,
    },
    log.child({ part: "queue" }),
  );

  // The appservice intake: transactions are queued in the homeserver's order, waiting out a skipped one (Synapse).
  const intake = new AppserviceGapGuard({ store, onQueued: () => inboundWorker.kick(), log: log.child({ part: "appservice" }) });

  const outboxWorker = new QueueWorker<OutboxEntry>(
    {
      name: "outbox",
      due: (now) => store.outbox.due(now),
      key: (e) => `${e.matrixUser}\u0000${e.remoteUri}`,
      attempts: (e) => e.attempts,
      handle: async (e) => {
        const admission = await core.admitSend(e);
        if (admission.kind === "refused") return; // the user was told; the entry is done
        if (admission.kind === "held") throw new RetryAfter("over the user's messages per minute (bridge.limits)", admission.retryAfterMs);
        const outcome = await network.deliver(e);
        if (outcome.kind === "sent") {
          await core.onSent(e);
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
          return;
        }
        if (Date.now() - e.createdAt > OUTBOX_MAX_AGE_MS) {
          await core.onSendFailed(e, "unreachable", `gave up after ${Math.round(OUTBOX_MAX_AGE_MS / 3_600_000)} hours: ${outcome.detail}`);
          return;
        }
        if (outcome.unreachable) await core.onSendDelayed(e, outcome.detail).catch((err) => log.warn({ err }, "could not post the delay notice"));
        if (outcome.rateLimited) await core.onSendRateLimited(e, outcome.afterMs).catch((err) => log.warn({ err }, "could not post the rate-limit notice"));
        throw new RetryAfter(outcome.detail, outcome.afterMs);
      },
      done: (e) => store.outbox.remove(e.seq),
      retryLater: (e, error, notBefore) => store.outbox.retryLater(e.seq, error, notBefore),
      giveUp: async (e, err) => core.onSendFailed(e, "internal", err instanceof Error ? err.message : String(err)),
      // Unreachable gatekeepers are bounded by OUTBOX_MAX_AGE_MS instead of a count.
      maxAttempts: Number.POSITIVE_INFINITY,
    },
    log.child({ part: "queue" }),
  );

  const inboxWorker = new QueueWorker<InboxEntry>(
    {
      name: "inbox",
      due: (now) => store.inbox.due(now),
      key: (e) => `${e.matrixUser}\u0000${e.remoteUri}`,
      attempts: (e) => e.attempts,
      handle: (e) => core.handleRemoteEntry(e),
      done: (e) => store.inbox.remove(e.seq),
      retryLater: (e, error, notBefore) => store.inbox.retryLater(e.seq, error, notBefore),
      giveUp: async (e, err) => {
        log.error({ err, messageId: e.messageId }, "a message from the remote network could not be posted to Matrix; dropping it");
        await core.onRemoteEntryAbandoned(e, err);
      },
      maxAttempts: 20,
    },
    log.child({ part: "queue" }),
  );

  let server: AppserviceServer | undefined;
  let maintenance: NodeJS.Timeout | undefined;
  let requestExpiry: NodeJS.Timeout | undefined;
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
      });
      matrix.useEncryption(crypto);
    }
    await matrix.ensureBot();
    interop.onEnvelope((envelope) => network.receive(envelope));
    interop.on("state", (s) => log.info({ state: s.state, lastError: s.lastError }, "gatekeeper connection"));
    interop.on("state", (s) => {
      if (s.state !== "connected") return;
      store.outbox
        .retryAllNow()
        .catch((err) => log.warn({ err }, "could not mark waiting messages due; they go at their retry time"))
        .finally(() => outboxWorker.kick());
    });
    interop.start();
    server = await startAppserviceServer({
      bindAddress: config.appservice.bind_address,
      port: config.appservice.port,
      hsToken: registration.hs_token,
      sink: intake,
      queryUser: async (userId) => {
        // The homeserver asks before an invite or lookup of a puppet nobody has created: only a dialable number
        // exists, and only its account is made (no device, profile or directory lookup until a chat needs them).
        const key = isPuppetUserId(config, userId);
        const contact = key === null ? null : network.ids.fromPuppetKey(key);
        if (contact === null) return false;
        await matrix.registerPuppet(network.ids.puppetKey(contact));
        return true;
      },
      logger: log.child({ part: "appservice" }),
    });
    inboundWorker.start();
    outboxWorker.start();
    inboxWorker.start();
    maintenance = startMaintenance(store, log.child({ part: "store" }));
    requestExpiry = startRequestExpiry(core, log.child({ part: "requests" }));
    // A successful ping makes the homeserver send held-back transactions now instead of after its backoff.
    await matrixClient.pingHomeserver(registration.id).catch((err) => log.warn({ err }, "homeserver ping failed"));
  } catch (err) {
    clearInterval(maintenance);
    clearInterval(requestExpiry);
    await server?.close();
    await interop.stop();
    await crypto?.stop().catch((e) => log.warn({ err: e }, "stopping the crypto engine failed"));
    await store.close();
    throw err;
  }
  log.info({ port: server.port }, "bridge started");

  const listening = server;
  return {
    core,
    store,
    appservicePort: listening.port,
    async stop() {
      await listening.close();
      await Promise.all([inboundWorker.stop(), outboxWorker.stop(), inboxWorker.stop()]);
      await interop.stop();
      await crypto?.stop();
      clearInterval(maintenance);
      clearInterval(requestExpiry);
      await store.close();
      log.info("bridge stopped");
    },
  };
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

/** Runs the bridge until SIGINT or SIGTERM. */
export async function runBridge(config: BridgeConfig): Promise<void> {
  const log = createLogger({ ...config.logging, name: "matrix-dma-bridge" });
  const runtime = await startBridge(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, "stopping");
      resolve();
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  await runtime.stop();
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
