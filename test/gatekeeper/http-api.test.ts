// The gatekeeper's HTTP side over its real socket: token rules, key service, media store and admin API guards.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { PreKeyBundleResponse, PreKeyCountResponse } from "../../src/protocol/signal/bundle.js";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TestProvider, type TestMatrixUser } from "./peer.js";

const ANNA = "+4915112345678";
const enc = encodeURIComponent;

async function errcodeOf(res: Response): Promise<string> {
  return ((await res.json()) as { errcode: string }).errcode;
}

describe("gatekeeper HTTP API", function () {
  this.timeout(60_000);
  const MEDIA_LIMIT = 64 * 1024;
  let gk: GatekeeperProcess;
  let provider: TestProvider;
  let alice: TestMatrixUser;

  before(async () => {
    gk = await GatekeeperProcess.start({ mediaMaxBytes: MEDIA_LIMIT });
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna", { devices: 2 });
    alice = await provider.user("alice");
  });

  after(async () => {
    await gk?.stop();
  });

  describe("tokens", () => {
    const directory = () => `/v1/directory/${enc(`tel:${ANNA}`)}`;

    it("accepts a valid provider token", async () => {
      const res = await provider.http("GET", directory());
      assert.equal(res.status, 200);
      const body = (await res.json()) as { uri: string; devices: { deviceId: number }[]; profile: { name: string } };
      assert.equal(body.uri, `tel:${ANNA}`);
      assert.deepEqual(body.devices.map((d) => d.deviceId), [1, 2]);
      assert.equal(body.profile.name, "Anna");
    });

    const cases: [string, (p: TestProvider) => Promise<string>][] = [
      ["an expired token", (p) => p.token({ issuedAgoSeconds: 700, lifetimeSeconds: 600 })],
      ["a token living longer than 10 minutes", (p) => p.token({ lifetimeSeconds: 3600 })],
      ["a token without exp", (p) => p.token({ noExp: true })],
      ["a wrong audience", (p) => p.token({ audience: "someone-else" })],
      ["a bad signature", (p) => p.token({ key: generateKeyPairSync("ed25519").privateKey })],
      ["an unknown provider", (p) => p.token({ issuer: "nobody" })],
      ["a user on a foreign domain", (p) => p.token({ sub: "matrix:u/eve:elsewhere.example" })],
      ["garbage", async () => "not.a.jwt"],
    ];
    for (const [what, make] of cases) {
      it(`answers 401 with a JSON error for ${what}, logging why but never the token`, async () => {
        const token = await make(provider);
        const res = await provider.http("GET", directory(), { token });
        assert.equal(res.status, 401);
        const body = (await res.json()) as { errcode: string; error: string };
        assert.equal(body.errcode, "UNAUTHORIZED");
        assert.ok(body.error.length > 0);
        await new Promise((r) => setTimeout(r, 50));
        assert.match(gk.logs, /rejected provider token/);
        assert.equal(gk.logs.includes(token), false, "the token must not appear in the log");
      });
    }

    it("answers 401 without an Authorization header", async () => {
      const res = await fetch(`${gk.url}${directory()}`);
      assert.equal(res.status, 401);
      assert.equal(await errcodeOf(res), "UNAUTHORIZED");
    });
  });

  describe("keys", () => {
    it("needs a user token for the user's own URI to upload keys", async () => {
      const upload = { devices: [{ deviceId: 1 }] };
      const asProvider = await provider.http("PUT", `/v1/keys/${enc(alice.uri)}`, { body: upload });
      assert.equal(asProvider.status, 403);
      const asOther = await provider.http("PUT", `/v1/keys/${enc(alice.uri)}`, { body: upload, sub: "matrix:u/bob:example.org" });
      assert.equal(asOther.status, 403);
      const malformed = await provider.http("PUT", `/v1/keys/${enc(alice.uri)}`, { body: upload, sub: alice.uri });
      assert.equal(malformed.status, 400);
      assert.equal(await errcodeOf(malformed), "INVALID");
    });

    it("refuses prekeys whose signature does not verify", async () => {
      const uow = await alice.store.begin();
      const { createDeviceKeysUpload } = await import("../../src/protocol/signal/prekeys.js");
      const upload = await createDeviceKeysUpload(uow, { oneTimePreKeys: 1 });
      uow.discard();
      const sig = Buffer.from(upload.signedPreKey.signature, "base64");
      sig[0]! ^= 1;
      upload.signedPreKey.signature = sig.toString("base64");
      const res = await provider.http("PUT", `/v1/keys/${enc(alice.uri)}`, { body: { devices: [upload] }, sub: alice.uri });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /bad signature/);
    });

    it("hands out each one-time prekey exactly once, even to concurrent fetches, and warns when few are left", async () => {
      await alice.uploadKeys(5);
      const conn = await provider.connect();
      try {
        const fetches = await Promise.all(Array.from({ length: 8 }, () => provider.json<PreKeyBundleResponse>("GET", `/v1/keys/${enc(alice.uri)}`)));
        const ec = fetches.map((f) => f.devices[0]!.preKey?.keyId).filter((id): id is number => id !== undefined);
        assert.equal(ec.length, 5, "five bundles got a one-time prekey, three got none");
        assert.equal(new Set(ec).size, 5, "no one-time prekey was handed out twice");
        const kyber = fetches.map((f) => f.devices[0]!.kyberPreKey.keyId);
        const lastResort = kyber.filter((id) => kyber.indexOf(id) !== kyber.lastIndexOf(id));
        assert.equal(new Set(kyber).size, 6, "five one-time Kyber keys, then the same last-resort key");
        assert.equal(lastResort.length, 3);

        const counts = await provider.json<PreKeyCountResponse>("GET", `/v1/keys/${enc(alice.uri)}/count`);
        assert.deepEqual(counts.devices, [{ deviceId: 1, oneTimePreKeys: 0, oneTimeKyberPreKeys: 0 }]);
        // On connect the provider hears that alice holds 5 (below the threshold of 10); each fetch then reports
        // what is left.
        const first = await conn.waitFor((f) => f.kind.case === "prekeysLow");
        assert.deepEqual(first.kind.value, { ...first.kind.value, user: alice.uri, remaining: 5 });
        const empty = await conn.waitFor((f) => f.kind.case === "prekeysLow" && f.kind.value.remaining === 0);
        assert.equal(empty.kind.case === "prekeysLow" && empty.kind.value.user, alice.uri);
      } finally {
        await conn.close();
      }
    });

    it("returns one device's bundle with ?device=N and refills simulated users' prekeys", async () => {
      // A simulated device starts with 50 one-time prekeys and tops up by 50 once fewer than 10 are left.
      const fetch = () => provider.json<PreKeyBundleResponse>("GET", `/v1/keys/${enc(`tel:${ANNA}`)}?device=2`);
      const keyIds = new Set<number>();
      for (let i = 0; i < 45; i++) {
        const res = await fetch();
        assert.deepEqual(res.devices.map((d) => d.deviceId), [2]);
        keyIds.add(res.devices[0]!.preKey!.keyId);
      }
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 30; i++) {
        const preKey = (await fetch()).devices[0]!.preKey;
        assert.ok(preKey, `fetch ${45 + i} got a one-time prekey: the simulated phone refilled`);
        keyIds.add(preKey.keyId);
      }
      assert.equal(keyIds.size, 75, "every handed-out prekey was distinct");
      const bad = await provider.http("GET", `/v1/keys/${enc(`tel:${ANNA}`)}?device=200`);
      assert.equal(bad.status, 400);
      const none = await provider.http("GET", `/v1/keys/${enc(`tel:${ANNA}`)}?device=9`);
      assert.equal(none.status, 404);
    });

    it("shows key counts only for the provider's own users", async () => {
      const res = await provider.http("GET", `/v1/keys/${enc("matrix:u/x:elsewhere.example")}/count`);
      assert.equal(res.status, 403);
    });
  });

  describe("media", () => {
    it("stores an upload and streams it back byte for byte", async () => {
      const data = randomBytes(MEDIA_LIMIT - 1);
      const up = await provider.http("POST", "/v1/media", { raw: data, contentType: "application/octet-stream" });
      assert.equal(up.status, 201);
      const { id } = (await up.json()) as { id: string };
      const down = await provider.http("GET", `/v1/media/${id}`);
      assert.equal(down.status, 200);
      assert.equal(down.headers.get("content-length"), String(data.length));
      assert.deepEqual(Buffer.from(await down.arrayBuffer()), data);
      assert.equal(statSync(join(gk.dataDir, "media", id)).size, data.length, "kept on disk, not in the database");
    });

    it("refuses uploads over the size limit, declared or streamed, and keeps nothing", async () => {
      const declared = await provider.http("POST", "/v1/media", { raw: randomBytes(MEDIA_LIMIT + 1) });
      assert.equal(declared.status, 413);
      assert.equal(await errcodeOf(declared), "TOO_LARGE");

      // Chunked: no Content-Length, so the server must count while streaming.
      const chunks = Readable.from((function* () {
        for (let i = 0; i < 8; i++) yield randomBytes(MEDIA_LIMIT / 4);
      })());
      const streamed = await fetch(`${gk.url}/v1/media`, {
        method: "POST",
        headers: { authorization: `Bearer ${await provider.token()}`, "content-type": "application/octet-stream" },
        body: Readable.toWeb(chunks) as ReadableStream,
        duplex: "half",
      } as RequestInit);
      assert.equal(streamed.status, 413);
      assert.ok(readdirSync(join(gk.dataDir, "media")).every((f) => !f.endsWith(".part")), "no partial file is left behind");
    });

    it("keeps nothing of an upload the client abandons halfway", async () => {
      const token = await provider.token();
      const req = request(`${gk.url}/v1/media`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream", "content-length": String(MEDIA_LIMIT) } });
      req.on("error", () => {});
      req.write(randomBytes(MEDIA_LIMIT / 2));
      await new Promise((r) => setTimeout(r, 200));
      req.destroy();
      const deadline = Date.now() + 5000;
      while (readdirSync(join(gk.dataDir, "media")).some((f) => f.endsWith(".part")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(readdirSync(join(gk.dataDir, "media")).filter((f) => f.endsWith(".part")), []);
    });

    it("answers 404 for unknown media and 401 without a token", async () => {
      assert.equal((await provider.http("GET", "/v1/media/AAAAAAAAAAAAAAAAAAAAAA")).status, 404);
      assert.equal((await provider.http("GET", "/v1/media/..%2F..%2Fadmin-token")).status, 404, "an encoded slash stays inside the id");
      assert.equal((await fetch(`${gk.url}/v1/media/AAAAAAAAAAAAAAAAAAAAAA`)).status, 401);
    });
  });

  describe("admin API", () => {
    it("needs the admin token, and lives on its own port", async () => {
      assert.equal((await fetch(`${gk.adminUrl}/admin/users`)).status, 401);
      assert.equal((await fetch(`${gk.adminUrl}/admin/users`, { headers: { authorization: "Bearer wrong" } })).status, 401);
      assert.equal((await fetch(`${gk.adminUrl}/admin/users`, { headers: { authorization: `Bearer ${gk.adminToken}` } })).status, 200);
      assert.notEqual(gk.adminUrl, gk.url);
      const onInterop = await fetch(`${gk.url}/admin/users`, { headers: { authorization: `Bearer ${gk.adminToken}` } });
      assert.equal(onInterop.status, 404, "the interop port has no admin routes");
    });

    it("keeps the admin token in a file only its owner can read", async () => {
      assert.equal(statSync(join(gk.dataDir, "admin-token")).mode & 0o777, 0o600);
    });

    it("accepts phone numbers in any common spelling and refuses bad ones with a clear error", async () => {
      const user = await gk.user("0049 151 1234-5678");
      assert.equal(user.e164, ANNA);
      await assert.rejects(gk.addUser("12345", "Nobody"), (err: Error & { status?: number; errcode?: string }) => err.status === 400 && err.errcode === "INVALID" && /phone number/.test(err.message));
      await assert.rejects(gk.addUser(ANNA, "Again"), (err: Error & { status?: number }) => err.status === 409);
    });

    it("refuses a provider key that is not a raw Ed25519 key", async () => {
      await assert.rejects(gk.addProvider("broken", "abc", ["broken.example"]), (err: Error & { status?: number }) => err.status === 400);
      await assert.rejects(gk.addProvider("dup", provider.publicKey, [provider.domain]), (err: Error & { status?: number }) => err.status === 409);
    });
  });
});
