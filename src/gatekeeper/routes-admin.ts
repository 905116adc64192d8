// The admin API, on a listener of its own bound to loopback: every request, whatever its path and whether or not a
// route matches, needs a loopback peer and the admin token. Drives the directory and the simulated users for tests,
// the demo and the `dma-gatekeeper` CLI; see docs/interop-transport.md ("Admin API").
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { adminTokenMatches } from "./admin-token.js";
import type { Gatekeeper } from "./gatekeeper.js";
import { HttpError, invalid } from "./http-error.js";
import { isLoopbackAddress } from "./loopback.js";
import { sendRequestSchema } from "./sim/compose.js";
import { openReceivedMedia } from "./sim/media.js";
import type { ReceivedMessage } from "./sim/received.js";
import { normalisePhone, requireUri, telUriOf } from "./uris.js";
import { isMessageIdString } from "../protocol/message-id.js";

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw invalid(`${what}: ${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
  }
  return result.data;
}

const providerBody = z.object({ id: z.string(), publicKey: z.string(), domains: z.array(z.string()).min(1) }).strict();
const userBody = z
  .object({
    phone: z.string(),
    name: z.string(),
    avatar: z.string().optional(),
    devices: z.int().min(1).max(16).optional(),
    optedIn: z.boolean().optional(),
    allowedProviders: z.array(z.string()).optional(),
    sendReceipts: z.boolean().optional(),
  })
  .strict();
const optInBody = z.object({ optedIn: z.boolean(), allowedProviders: z.array(z.string()).optional() }).strict();
const receiptsBody = z.object({ sendReceipts: z.boolean() }).strict();
const profileBody = z.object({ name: z.string().min(1).optional(), avatar: z.string().nullable().optional() }).strict();
const blockBody = z.object({ uri: z.string() }).strict();
const tamperBody = z.object({ offset: z.int().min(0).optional() }).strict();
const suspendBody = z.object({ reason: z.string().min(1).max(200).optional() }).strict();

/** A recipient as a URI, or as a phone number for another simulated user (`+49 151 ...` -> tel:+49151...). */
function recipientUri(to: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(to) && !/^tel:/i.test(to) ? requireUri(to) : telUriOf(normalisePhone(to));
}

function deviceIdParam(value: string): number {
  if (!/^\d{1,3}$/.test(value)) throw invalid("device id must be an integer");
  return Number(value);
}

function afterParam(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,15}$/.test(value)) throw invalid("after must be a non-negative integer (a seq from an earlier answer)");
  return Number(value);
}

export async function registerAdminRoutes(app: FastifyInstance, gk: Gatekeeper, adminToken: string): Promise<void> {
  // No path test here: this listener serves nothing else, so not even a 404 is answered without the token.
  app.addHook("onRequest", async (request) => {
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      gk.log.warn({ peer: request.socket.remoteAddress }, "rejected admin request from a non-loopback peer");
      throw new HttpError(403, "FORBIDDEN", "the admin API answers loopback clients only");
    }
    if (!adminTokenMatches(adminToken, request.headers.authorization)) {
      gk.log.warn({ route: request.routeOptions.url ?? "(no route)" }, "rejected admin request: bad or missing admin token");
      throw new HttpError(401, "UNAUTHORIZED", "missing or wrong admin token");
    }
  });

  app.get("/admin/providers", async () =>
    gk.providers.list().map((p) => ({ ...p, connected: gk.hub.isConnected(p.id), queued: gk.queue.count(p.id), notices: gk.notices.count(p.id) })),
  );

  app.post("/admin/providers", async (request, reply) => {
    const body = parse(providerBody, request.body, "provider");
    const provider = gk.providers.add(body);
    gk.log.info({ provider: provider.id, domains: provider.domains }, "provider enlisted");
    return reply.code(201).send(provider);
  });

  app.get("/admin/users", async () => gk.directory.list());

  app.post("/admin/users", async (request, reply) => {
    const body = parse(userBody, request.body, "user");
    const e164 = normalisePhone(body.phone);
    const { phone: _phone, ...rest } = body;
    const user = await gk.addUser({ ...rest, e164 });
    gk.log.info({ devices: user.devices.length }, "simulated user added");
    return reply.code(201).send(user);
  });

  app.get<{ Params: { phone: string } }>("/admin/users/:phone", async (request) => gk.directory.require(normalisePhone(request.params.phone)));

  app.post<{ Params: { phone: string } }>("/admin/users/:phone/devices", async (request, reply) =>
    reply.code(201).send(await gk.addDevice(normalisePhone(request.params.phone))),
  );

  app.delete<{ Params: { phone: string; device: string } }>("/admin/users/:phone/devices/:device", async (request, reply) => {
    await gk.removeDevice(normalisePhone(request.params.phone), deviceIdParam(request.params.device));
    return reply.code(204).send();
  });

  app.post<{ Params: { phone: string; device: string } }>("/admin/users/:phone/devices/:device/reset-identity", async (request) =>
    gk.resetIdentity(normalisePhone(request.params.phone), deviceIdParam(request.params.device)),
  );

  app.put<{ Params: { phone: string } }>("/admin/users/:phone/opt-in", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    const body = parse(optInBody, request.body, "opt-in");
    return gk.setOptIn(e164, body.optedIn, body.allowedProviders);
  });

  app.put<{ Params: { phone: string } }>("/admin/users/:phone/profile", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.setProfile(e164, parse(profileBody, request.body, "profile"));
    return gk.directory.require(e164);
  });

  app.put<{ Params: { phone: string } }>("/admin/users/:phone/receipts", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.setSendReceipts(e164, parse(receiptsBody, request.body, "receipts").sendReceipts);
    return gk.directory.require(e164);
  });

  app.post<{ Params: { phone: string } }>("/admin/users/:phone/blocks", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.block(e164, requireUri(parse(blockBody, request.body, "block").uri));
    return gk.directory.require(e164);
  });

  app.delete<{ Params: { phone: string; uri: string } }>("/admin/users/:phone/blocks/:uri", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.unblock(e164, requireUri(request.params.uri));
    return gk.directory.require(e164);
  });

  // Safety: what provider users blocked and reported, and suspension of simulated users.
  app.get<{ Params: { uri: string } }>("/admin/blocks/:uri", async (request) => {
    const uri = requireUri(request.params.uri);
    return { user: uri, blocked: gk.userBlocks.list(uri) };
  });

  app.get<{ Querystring: { after?: string } }>("/admin/reports", async (request) => gk.reports.list({ afterSeq: afterParam(request.query.after) }));

  app.get<{ Params: { phone: string }; Querystring: { after?: string } }>("/admin/users/:phone/reports", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.require(e164);
    return gk.reports.list({ reported: telUriOf(e164), afterSeq: afterParam(request.query.after) });
  });

  app.put<{ Params: { phone: string } }>("/admin/users/:phone/suspension", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    const body = parse(suspendBody, request.body, "suspension");
    if (gk.directory.suspend(e164, body.reason ?? "suspended by the operator")) gk.log.info("the operator suspended a simulated user");
    return gk.directory.require(e164);
  });

  app.delete<{ Params: { phone: string } }>("/admin/users/:phone/suspension", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.unsuspend(e164);
    return gk.directory.require(e164);
  });

  app.post<{ Params: { phone: string } }>("/admin/users/:phone/send", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    const body = parse(sendRequestSchema, request.body, "send");
    return gk.sim.send(e164, { ...body, to: recipientUri(body.to) });
  });

  // The decrypted file of a media message the user received, verified again on the way out (422 if it fails).
  app.get<{ Params: { phone: string; messageId: string } }>("/admin/users/:phone/media/:messageId", async (request, reply) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.require(e164);
    const messageId = request.params.messageId.toUpperCase();
    if (!isMessageIdString(messageId)) throw invalid("messageId must be 32 hex digits");
    const received = gk.received.findByMessageId(e164, messageId);
    if (!received) throw new HttpError(404, "NOT_FOUND", `${e164} received no message ${messageId}`);
    const file = await openReceivedMedia(gk.media, received.content);
    reply.header("content-type", file.mimetype);
    if (file.fileName) reply.header("content-disposition", `attachment; filename*=UTF-8''${encodeURIComponent(file.fileName)}`);
    return reply.send(Readable.from(file.chunks));
  });

  // Test hook: corrupts a stored file, so tests can show that receivers reject it.
  app.post<{ Params: { id: string } }>("/admin/media/:id/tamper", async (request) => {
    const body = parse(tamperBody, request.body, "tamper");
    const offset = gk.media.tamper(request.params.id, body.offset);
    gk.log.warn({ media: request.params.id, offset }, "stored media tampered with (admin test hook)");
    return { id: request.params.id, offset };
  });

  app.get<{ Params: { phone: string }; Querystring: { after?: string } }>("/admin/users/:phone/messages", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.require(e164);
    return gk.received.list(e164, afterParam(request.query.after));
  });

  // Envelopes the simulated devices threw away without showing them (sim/discarded.ts): all users', or one user's.
  app.get<{ Querystring: { after?: string } }>("/admin/discarded", async (request) => gk.discarded.list(undefined, afterParam(request.query.after)));
  app.get<{ Params: { phone: string }; Querystring: { after?: string } }>("/admin/users/:phone/discarded", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.require(e164);
    return gk.discarded.list(e164, afterParam(request.query.after));
  });

  // Messages of this user that a provider refused to deliver (the user's phone would say "not delivered").
  app.get<{ Params: { phone: string }; Querystring: { after?: string } }>("/admin/users/:phone/refusals", async (request) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.require(e164);
    return gk.refusals.forSender(telUriOf(e164), afterParam(request.query.after));
  });

  // Server-sent events: the backlog after `after`, then every new message as it is stored.
  app.get<{ Params: { phone: string }; Querystring: { after?: string } }>("/admin/users/:phone/watch", async (request, reply) => {
    const e164 = normalisePhone(request.params.phone);
    gk.directory.require(e164);
    streamReceived(reply, gk, e164, afterParam(request.query.after));
  });
}

function streamReceived(reply: FastifyReply, gk: Gatekeeper, e164: string, after: number): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
  let last = after;
  const write = (m: ReceivedMessage) => {
    if (m.seq <= last) return;
    last = m.seq;
    raw.write(`id: ${m.seq}\nevent: message\ndata: ${JSON.stringify(m)}\n\n`);
  };
  // Subscribe first, then replay, so nothing stored in between is missed (write() skips what was already sent).
  const unsubscribe = gk.received.watch(e164, write);
  for (const m of gk.received.list(e164, after, 100_000)) write(m);
  const keepAlive = setInterval(() => raw.write(": keep-alive\n\n"), 15_000);
  raw.on("close", () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}
