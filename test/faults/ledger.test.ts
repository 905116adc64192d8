// The fault suite's books: a run can only pass if its ledger sees a loss, a duplicate and a reordering when there is
// one. Checked here on made-up arrivals, without Synapse.
import assert from "node:assert/strict";
import { Ledger, type SentMessage } from "./ledger.js";

describe("fault suite ledger", () => {
  const receivers = (m: SentMessage) => (m.direction === "to-matrix" ? ["matrix"] : ["phone#1", "phone#2"]);

  it("counts lost, duplicated and out-of-order messages per receiver, and lays them at the fault they were sent under", () => {
    const ledger = new Ledger("t");
    const out = [1, 2, 3, 4].map(() => ledger.next("a", "to-whatsapp"));
    ledger.current = "bridge-sigkill";
    const during = ledger.next("a", "to-whatsapp");
    ledger.current = "none";
    const inbound = [1, 2].map(() => ledger.next("a", "to-matrix"));
    const maybe = ledger.next("a", "to-matrix");
    ledger.markUncertain(maybe);

    for (const m of out) ledger.arrived("phone#1", m.text);
    ledger.arrived("phone#1", during.text);
    ledger.arrived("phone#1", during.text); // duplicate on device 1
    for (const m of [out[0]!, out[2]!, out[1]!, out[3]!]) ledger.arrived("phone#2", m.text); // reordered, and `during` lost
    ledger.setArrivals("matrix", [{ text: inbound[0]!.text }, { text: inbound[1]!.text }]);

    assert.deepEqual(ledger.missing(receivers).map((m) => m.text), [during.text]);
    const s = ledger.summary(receivers);
    assert.equal(s.lost, 1);
    assert.equal(s.duplicated, 1);
    assert.equal(s.outOfOrder, 1);
    assert.equal(s.uncertain, 1);
    assert.deepEqual(s.byFault["bridge-sigkill"], { sent: 1, lost: 1, duplicated: 1 });
    const phone2 = s.chats.find((c) => c.at === "phone#2")!;
    assert.deepEqual(phone2.lost, [during.text]);
    assert.deepEqual(phone2.outOfOrder, [out[1]!.text]);
    assert.deepEqual(s.chats.find((c) => c.at === "matrix")!.uncertain, { sent: 1, delivered: 0 });
  });
});
