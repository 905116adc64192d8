// Sends what an OlmMachine asks to be sent (key uploads, key queries and claims, to-device messages, signatures) as
// its device, and hands each answer back. The machine keeps asking until it has seen an answer, so a request lost in
// a crash is simply sent again; every one of these requests is safe to repeat.
import {
  KeysBackupRequest,
  KeysClaimRequest,
  KeysQueryRequest,
  KeysUploadRequest,
  RequestType,
  RoomMessageRequest,
  SignatureUploadRequest,
  ToDeviceRequest,
  type OlmMachine,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "pino";
import type { HttpMethod, MatrixClient } from "../client.js";

/** The client-server API as one device of a bridge-owned user. */
export interface DeviceHttp {
  request(method: HttpMethod, path: string, body: unknown): Promise<unknown>;
}

export function deviceHttp(client: MatrixClient, userId: string, deviceId: string): DeviceHttp {
  return {
    request: (method, path, body) => client.request(method, path, { asUser: userId, asDevice: deviceId, body, idempotent: true }),
  };
}

/** More rounds than this means the machine keeps producing work; better to stop and be retried than to spin. */
const MAX_ROUNDS = 16;

/** Sends outgoing requests until the machine has none left. Returns how many were sent. */
export async function flushOutgoingRequests(machine: OlmMachine, http: DeviceHttp, log: Logger): Promise<number> {
  let sent = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const requests = await machine.outgoingRequests();
    if (requests.length === 0) return sent;
    for (const request of requests) {
      await sendOne(machine, http, request, log);
      sent++;
    }
  }
  throw new Error(`the crypto engine still had requests to send after ${MAX_ROUNDS} rounds`);
}

type Outgoing = Awaited<ReturnType<OlmMachine["outgoingRequests"]>>[number];

async function sendOne(machine: OlmMachine, http: DeviceHttp, request: Outgoing, log: Logger): Promise<void> {
  let response: unknown;
  if (request instanceof KeysUploadRequest) {
    response = await http.request("POST", "/_matrix/client/v3/keys/upload", JSON.parse(request.body));
  } else if (request instanceof KeysQueryRequest) {
    response = await http.request("POST", "/_matrix/client/v3/keys/query", JSON.parse(request.body));
  } else if (request instanceof KeysClaimRequest) {
    response = await http.request("POST", "/_matrix/client/v3/keys/claim", JSON.parse(request.body));
  } else if (request instanceof ToDeviceRequest) {
    response = await sendToDevice(http, request);
  } else if (request instanceof SignatureUploadRequest) {
    response = await http.request("POST", "/_matrix/client/v3/keys/signatures/upload", JSON.parse(request.body));
  } else if (request instanceof RoomMessageRequest) {
    response = await http.request(
      "PUT",
      `/_matrix/client/v3/rooms/${encodeURIComponent(request.room_id)}/send/${encodeURIComponent(request.event_type)}/${encodeURIComponent(request.txn_id)}`,
      JSON.parse(request.body),
    );
  } else if (request instanceof KeysBackupRequest) {
    // Server-side key backup is never enabled for bridge devices, so this cannot come; if it does, say so loudly.
    throw new Error("the crypto engine asked to upload a key backup, which the bridge never enables");
  } else {
    throw new Error(`unknown outgoing request from the crypto engine: ${(request as { constructor: { name: string } }).constructor.name}`);
  }
  await machine.markRequestAsSent(request.id!, request.type, JSON.stringify(response ?? {}));
  log.trace({ type: RequestType[request.type] }, "crypto request sent");
}

export async function sendToDevice(http: DeviceHttp, request: ToDeviceRequest): Promise<unknown> {
  return http.request(
    "PUT",
    `/_matrix/client/v3/sendToDevice/${encodeURIComponent(request.event_type)}/${encodeURIComponent(request.txn_id)}`,
    JSON.parse(request.body),
  );
}
