// Accepted appservice transactions go into the store's durable queue, each item once (by event ID or content, not
// by transaction ID), in one SQLite transaction; only then does the endpoint answer 200.
import type { TransactionSink } from "../matrix/appservice-server.js";
import type { AppserviceTransaction } from "../matrix/transaction.js";
import type { InboundItem } from "../store/appservice-queue.js";
import type { BridgeStore } from "../store/store.js";

export function storeTransactionSink(store: BridgeStore, onQueued: () => void): TransactionSink {
  return {
    async accept(txnId: string, txn: AppserviceTransaction): Promise<void> {
      const items: InboundItem[] = [];
      for (const ev of txn.events) items.push({ kind: "event", roomId: ev.room_id, payload: ev });
      for (const ev of txn.ephemeral) {
        const roomId = typeof (ev as { room_id?: unknown }).room_id === "string" ? (ev as { room_id: string }).room_id : undefined;
        items.push({ kind: "ephemeral", roomId, payload: ev });
      }
      // Kept for the Matrix E2EE engine, which consumes them in order per device.
      for (const ev of txn.toDevice) items.push({ kind: "to_device", roomId: "\u0000crypto", payload: ev });
      if (txn.deviceLists.changed.length || txn.deviceLists.left.length) {
        items.push({ kind: "device_lists", roomId: "\u0000crypto", payload: txn.deviceLists });
      }
      if (Object.keys(txn.oneTimeKeyCounts).length || Object.keys(txn.unusedFallbackKeyTypes).length) {
        items.push({ kind: "key_counts", roomId: "\u0000crypto", payload: { otk: txn.oneTimeKeyCounts, fallback: txn.unusedFallbackKeyTypes } });
      }
      if (store.appservice.accept(txnId, items) > 0) onQueued();
    },
  };
}
