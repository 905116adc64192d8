import assert from "node:assert/strict";
import {
  isMessageIdString,
  messageIdFromString,
  messageIdToString,
  newMessageId,
} from "../../src/protocol/message-id.js";
import { ProtocolError } from "../../src/protocol/errors.js";

describe("message IDs", () => {
  it("are 16 random bytes", () => {
    const a = newMessageId();
    const b = newMessageId();
    assert.equal(a.length, 16);
    assert.notDeepEqual(a, b);
  });

  it("have a canonical string of 32 uppercase hex digits that round-trips", () => {
    const id = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa, 0xff]);
    const s = messageIdToString(id);
    assert.equal(s, "DEADBEEF000102030405060708090AFF");
    assert.deepEqual(messageIdFromString(s), id);
    for (let i = 0; i < 100; i++) {
      const random = newMessageId();
      assert.deepEqual(messageIdFromString(messageIdToString(random)), random);
    }
  });

  it("rejects byte IDs that are not 16 bytes", () => {
    for (const len of [0, 15, 17, 32]) {
      assert.throws(() => messageIdToString(new Uint8Array(len)), (e: unknown) => e instanceof ProtocolError && e.code === "invalid_field");
    }
  });

  it("rejects strings that are not the canonical form", () => {
    for (const bad of ["", "deadbeef000102030405060708090aff", "DEADBEEF00010203040506070809 AFF", "DEADBEEF000102030405060708090AF", "DEADBEEF000102030405060708090AFF0", "GEADBEEF000102030405060708090AFF"]) {
      assert.equal(isMessageIdString(bad), false, bad);
      assert.throws(() => messageIdFromString(bad), (e: unknown) => e instanceof ProtocolError && e.code === "invalid_field", bad);
    }
  });
});
