// A Matrix device driven step by step with the crypto engine's OlmMachine (in memory), for tests that need what no
// well-behaved client does on purpose: sending an encrypted event before its room key.
import {
  CollectStrategy,
  DeviceId,
  EncryptionAlgorithm,
  EncryptionSettings,
  KeysClaimRequest,
  KeysQueryRequest,
  KeysUploadRequest,
  OlmMachine,
  RoomId,
  SignatureUploadRequest,
  ToDeviceRequest,
  UserId,
} from "@matrix-org/matrix-sdk-crypto-wasm";

export class RawCryptoDevice {
  private txn = 0;

  private constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    readonly userId: string,
    readonly deviceId: string,
    private readonly machine: OlmMachine,
  ) {}

  /** Logs in a new device of an existing user and uploads its keys. */
  static async login(baseUrl: string, userId: string, password: string): Promise<RawCryptoDevice> {
    const res = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password, initial_device_display_name: "raw test device" }),
    });
    if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    const { access_token, device_id } = (await res.json()) as { access_token: string; device_id: string };
    const machine = await OlmMachine.initialize(new UserId(userId), new DeviceId(device_id));
    const device = new RawCryptoDevice(baseUrl, access_token, userId, device_id, machine);
    await device.flush();
    return device;
  }

  /**
   * Encrypts and sends an event into the room, but holds back the to-device messages that carry its room key.
   * `releaseKey` sends them.
   */
  async sendWithHeldBackKey(roomId: string, content: Record<string, unknown>): Promise<{ eventId: string; releaseKey: () => Promise<void> }> {
    const members = Object.keys(((await this.api("GET", `/rooms/${encodeURIComponent(roomId)}/joined_members`)) as { joined: Record<string, unknown> }).joined);
    const users = () => members.map((u) => new UserId(u));
    await this.machine.updateTrackedUsers(users());
    await this.flush();
    const claim = await this.machine.getMissingSessions(users());
    if (claim) await this.machine.markRequestAsSent(claim.id, claim.type, JSON.stringify(await this.api("POST", "/keys/claim", JSON.parse(claim.body))));
    const settings = new EncryptionSettings();
    settings.algorithm = EncryptionAlgorithm.MegolmV1AesSha2;
    settings.sharingStrategy = CollectStrategy.allDevices();
    const held = await this.machine.shareRoomKey(new RoomId(roomId), users(), settings);
    // The machine must believe the key went out before it encrypts (it refuses otherwise); it goes out later.
    for (const r of held) await this.machine.markRequestAsSent(r.id, r.type, "{}");
    const encrypted = await this.machine.encryptRoomEvent(new RoomId(roomId), "m.room.message", JSON.stringify(content));
    const { event_id } = (await this.api("PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/raw-${Date.now()}-${this.txn++}`, JSON.parse(encrypted))) as { event_id: string };
    return {
      eventId: event_id,
      releaseKey: async () => {
        for (const r of held) await this.api("PUT", `/sendToDevice/${encodeURIComponent(r.event_type)}/${encodeURIComponent(r.txn_id)}`, JSON.parse(r.body));
      },
    };
  }

  async logout(): Promise<void> {
    await this.api("POST", "/logout", {}).catch(() => undefined);
    this.machine.close();
  }

  private async flush(): Promise<void> {
    for (let round = 0; round < 8; round++) {
      const requests = await this.machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const r of requests) {
        let response: unknown;
        if (r instanceof KeysUploadRequest) response = await this.api("POST", "/keys/upload", JSON.parse(r.body));
        else if (r instanceof KeysQueryRequest) response = await this.api("POST", "/keys/query", JSON.parse(r.body));
        else if (r instanceof KeysClaimRequest) response = await this.api("POST", "/keys/claim", JSON.parse(r.body));
        else if (r instanceof SignatureUploadRequest) response = await this.api("POST", "/keys/signatures/upload", JSON.parse(r.body));
        else if (r instanceof ToDeviceRequest) response = await this.api("PUT", `/sendToDevice/${encodeURIComponent(r.event_type)}/${encodeURIComponent(r.txn_id)}`, JSON.parse(r.body));
        else continue;
        if (r.id) await this.machine.markRequestAsSent(r.id, r.type, JSON.stringify(response));
      }
    }
  }

  private async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.baseUrl}/_matrix/client/v3${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path} failed: ${res.status} ${await res.text()}`);
    return res.json();
  }
}
