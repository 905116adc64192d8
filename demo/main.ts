// `make demo`: a real Synapse, the reference gatekeeper with two simulated WhatsApp users, and the bridge, all on
// loopback with the product's defaults (encrypted portals, a Matrix user with a real E2EE device). Runs a scripted
// conversation both ways, prints it, then stays up for a person to try in a Matrix client of their own
// (DEMO_ONESHOT=1 exits after the script, non-zero on failure).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { providerPublicKey } from "../src/config/provider-key.js";
import { GatekeeperProcess } from "../src/gatekeeper/process.js";
import { createLogger } from "../src/log.js";
import { startBridge } from "../src/app/run.js";
import { getTestEnv, stopTestEnv } from "../test/harness/fixture.js";
import { freePort } from "../test/harness/free-port.js";
import { makeTestConfig } from "../test/harness/config.js";
import { canRunLocalSynapse, ensureSynapseRoot } from "../test/harness/synapse-root.js";
import { MatrixTestUser } from "../test/e2e/matrix-user.js";
import { PIXEL_PNG } from "../test/e2e/world.js";

const ANNA = { phone: "+4915112345678", name: "Anna Schmidt" };
const BEN = { phone: "+447911123456", name: "Ben Carter" };
const oneshot = process.env["DEMO_ONESHOT"] === "1";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  say("matrix-dma-bridge demo: Synapse + reference gatekeeper + bridge, all on 127.0.0.1");
  if (!process.env["MDB_TEST_SYNAPSE_URL"] && canRunLocalSynapse()) {
    say("• preparing Synapse (the first run installs it from Debian into ~/.cache/matrix-dma-bridge; a few minutes)…");
    await ensureSynapseRoot();
  }
  const env = await getTestEnv();
  say(`• Synapse is up at ${env.synapse.url} (server name ${env.synapse.serverName})`);

  const gk = await GatekeeperProcess.start({ logLevel: "warn" });
  say(`• reference gatekeeper is up at ${gk.url}, its admin API at ${gk.adminUrl} (data in ${gk.dataDir})`);
  const dataDir = join(env.tmpDir, "bridge");
  mkdirSync(dataDir, { recursive: true });
  const config = makeTestConfig({
    homeserverUrl: env.synapse.url,
    domain: env.synapse.serverName,
    appservicePort: env.appservicePort,
    registrationPath: env.config.appservice.registration,
    dataDir,
    gatekeeperUrl: gk.url,
    // The bridge's own defaults otherwise: portals are encrypted.
    overrides: {
      bridge: { default_country: "DE" },
      metrics: { enabled: true, listen: `127.0.0.1:${await freePort()}` },
      logging: { level: process.env["DEMO_LOG"] ?? "warn", format: "pretty" },
    },
  });
  if (!config.bridge.encryption.default) throw new Error("the demo is meant to run on the default config, which encrypts portals");
  await gk.addProvider(config.gatekeeper.provider_id, providerPublicKey(config.gatekeeper.provider_key), [env.synapse.serverName]);
  await gk.addUser(ANNA.phone, ANNA.name);
  await gk.addUser(BEN.phone, BEN.name);
  say(`• simulated WhatsApp users: ${ANNA.name} ${ANNA.phone}, ${BEN.name} ${BEN.phone}`);

  const bridge = await startBridge(config, createLogger({ level: config.logging.level, format: "pretty", name: "bridge" }, process.stderr));
  say(`• bridge is up (appservice on 127.0.0.1:${bridge.appservicePort}, /health and /ready there; metrics at http://127.0.0.1:${bridge.metricsPort}/metrics)`);

  const password = "demo-password";
  // A real E2EE device (matrix-js-sdk with the Rust crypto), as any Matrix client has.
  const demo = await MatrixTestUser.create(env.synapse, "demo", { password, crypto: true });
  const demoUri = `matrix:u/${demo.userId.slice(1)}`;
  const bot = `@${config.appservice.bot_localpart}:${env.synapse.serverName}`;
  const puppetOf = (phone: string) => `@wa_${phone.slice(1)}:${env.synapse.serverName}`;

  say("\n--- scripted conversation ---");
  const transcript = (who: string, text: string) => say(`${new Date().toISOString().slice(11, 19)}  ${who.padEnd(28)} ${text}`);
  // Encrypted, as clients make DMs by default.
  const mgmt = await demo.createEncryptedDm(bot);
  transcript(demo.userId, "(opens an encrypted DM with the bridge bot)");
  const help = await demo.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"), 30_000);
  if (!help.encrypted) throw new Error("the bot's help came unencrypted");
  transcript(bot, "(sends its help text, encrypted)");
  await demo.waitForMember(mgmt, bot);
  await demo.sendText(mgmt, "start-chat 0151 1234 5678");
  transcript(demo.userId, "start-chat 0151 1234 5678");
  const annaRoom = await demo.acceptInviteFrom(puppetOf(ANNA.phone), 30_000);
  // Also waits until the client sees the portal as encrypted, so its first message goes to the puppet's device.
  await demo.waitForMember(annaRoom, puppetOf(ANNA.phone));
  transcript(puppetOf(ANNA.phone), "(invites the demo user to a new encrypted DM; accepted)");
  await demo.sendText(annaRoom, "Hi Anna! Writing from Matrix 👋");
  transcript(demo.userId, "Hi Anna! Writing from Matrix 👋");
  const got = await gk.waitForMessage(ANNA.phone, (m) => JSON.stringify(m.content).includes("Writing from Matrix"), 30_000);
  transcript(`${ANNA.name} (WhatsApp)`, `received it (from ${got.sender})`);
  await gk.sendAs(ANNA.phone, { to: demoUri, text: "Hello! This came from the WhatsApp side." });
  transcript(`${ANNA.name} (WhatsApp)`, "Hello! This came from the WhatsApp side.");
  const reply = await demo.waitForEvent("Anna's reply", (e) => e.roomId === annaRoom && e.content.body === "Hello! This came from the WhatsApp side.", 30_000);
  if (!reply.encrypted) throw new Error("Anna's message reached Matrix unencrypted");
  transcript(reply.sender, `${String(reply.content.body)}  (in Matrix, decrypted from the puppet's device)`);

  // One of each kind, both ways.
  const annaPuppet = puppetOf(ANNA.phone);
  const inRoom = (what: string, pred: (e: { content: Record<string, unknown>; type: string }) => boolean) =>
    demo.waitForEvent(what, (e) => e.roomId === annaRoom && e.sender === annaPuppet && pred(e), 30_000);
  await gk.sendAs(ANNA.phone, { to: demoUri, react: { id: got.messageId, emoji: "👍" } });
  await inRoom("Anna's reaction", (e) => e.type === "m.reaction");
  transcript(`${ANNA.name} (WhatsApp)`, "reacts 👍 to your message  → m.reaction in Matrix");
  await gk.sendAs(ANNA.phone, { to: demoUri, text: "*Bold*, _italic_ and a reply to you", replyTo: got.messageId });
  const formatted = await inRoom("Anna's formatted reply", (e) => String(e.content.body).includes("a reply to you"));
  transcript(`${ANNA.name} (WhatsApp)`, `replies with formatting  → ${String(formatted.content.formatted_body)}`);
  await gk.sendMediaAs(ANNA.phone, demoUri, { kind: "image", data: PIXEL_PNG, mimetype: "image/png", caption: "a tiny picture", width: 1, height: 1 });
  const image = await inRoom("Anna's image", (e) => e.content.msgtype === "m.image");
  transcript(`${ANNA.name} (WhatsApp)`, `sends an image  → ${String(image.content.msgtype)} ${String(image.content.body)}`);
  await gk.sendMediaAs(ANNA.phone, demoUri, { kind: "audio", data: Buffer.from("OggS demo voice note"), mimetype: "audio/ogg; codecs=opus", seconds: 3, ptt: true, waveform: [10, 60, 90, 40, 5] });
  await inRoom("Anna's voice note", (e) => "org.matrix.msc3245.voice" in e.content);
  transcript(`${ANNA.name} (WhatsApp)`, "sends a voice note  → Matrix voice message with waveform");
  await gk.sendMediaAs(ANNA.phone, demoUri, { kind: "document", data: Buffer.from("quarterly numbers\n"), mimetype: "text/plain", fileName: "numbers.txt" });
  await inRoom("Anna's file", (e) => e.content.msgtype === "m.file");
  transcript(`${ANNA.name} (WhatsApp)`, "sends a file  → m.file numbers.txt");
  const helloId = reply.eventId;
  await gk.sendAs(ANNA.phone, { to: demoUri, typing: "composing" });
  transcript(`${ANNA.name} (WhatsApp)`, "is typing…  → typing notification in Matrix");
  await demo.send(annaRoom, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: helloId, key: "❤️" } });
  await gk.waitForMessage(ANNA.phone, (m) => JSON.stringify(m.content).includes("❤️"), 30_000);
  transcript(demo.userId, "reacts ❤️ to Anna's message  → WhatsApp reaction");
  await demo.send(annaRoom, "m.room.message", { msgtype: "m.text", body: "See you at 8", format: "org.matrix.custom.html", formatted_body: "See you at <b>8</b>" });
  const seen = await gk.waitForMessage(ANNA.phone, (m) => JSON.stringify(m.content).includes("See you at"), 30_000);
  transcript(demo.userId, `sends formatted text  → WhatsApp gets ${JSON.stringify((seen.content as { message?: { conversation?: string } }).message?.conversation)}`);

  await gk.sendAs(BEN.phone, { to: demoUri, text: "Ben here, first message without a chat yet." });
  transcript(`${BEN.name} (WhatsApp)`, "Ben here, first message without a chat yet.");
  const benRoom = await demo.acceptInviteFrom(puppetOf(BEN.phone), 30_000);
  const ben = await demo.waitForEvent("Ben's message", (e) => e.roomId === benRoom && String(e.content.body).startsWith("Ben here"), 30_000);
  if (!ben.encrypted) throw new Error("Ben's first message reached Matrix unencrypted");
  transcript(ben.sender, `${String(ben.content.body)}  (new encrypted portal room)`);
  say("--- the scripted conversation went through both ways ---\n");

  const shutdown = async () => {
    await bridge.stop();
    await gk.stop();
    await stopTestEnv();
  };
  if (oneshot) {
    demo.stop();
    await shutdown();
    return;
  }
  // The scripted client logs out of nothing: its device stays, so a person's client is a second device of "demo".
  demo.stop();
  const cli = `node dist/src/gatekeeper/cli.js`;
  const port = new URL(env.synapse.url).port;
  say("The demo stays up. Open the conversation in a real Matrix client:");
  say(`  homeserver   ${env.synapse.url}   (a custom homeserver; no TLS, loopback only)`);
  say(`  user         demo   (full ID ${demo.userId})`);
  say(`  password     ${password}`);
  say("  Element Desktop or Element Web (app.element.io may talk to 127.0.0.1), nheko, Fractal: choose \"other homeserver\",");
  say("  enter the address above and sign in. From another machine, forward the port first:");
  say(`    ssh -L ${port}:127.0.0.1:${port} <this machine>    and use http://127.0.0.1:${port} there.`);
  say("  The portals are end-to-end encrypted: messages from before you signed in were encrypted for the demo's scripted");
  say("  device only, so your client shows them as unable to decrypt; everything from now on it reads. Puppets and the bot");
  say("  are cross-signed by their owners; verifying them is not needed to chat.");
  say(`  Write to the bot (${bot}): "help", "list", "start-chat ${BEN.phone}".`);
  say(`  WhatsApp side, as Anna: ${cli} user send ${ANNA.phone} --to ${demoUri} --data-dir ${gk.dataDir} "hello again"`);
  say(`  Watch what Anna receives: ${cli} user watch ${ANNA.phone} --data-dir ${gk.dataDir}`);
  say(`  The bridge's health: curl -s http://127.0.0.1:${bridge.appservicePort}/ready; metrics: curl -s http://127.0.0.1:${bridge.metricsPort}/metrics`);
  say("  Stop with Ctrl-C.");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  say("stopping…");
  await shutdown();
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopTestEnv().catch(() => undefined);
    process.exit(1);
  },
);
