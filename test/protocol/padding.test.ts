import assert from "node:assert/strict";
import { MAX_PADDING, pad, unpad } from "../../src/protocol/padding.js";
import { ProtocolError } from "../../src/protocol/errors.js";

const code = (c: string) => (err: unknown) => err instanceof ProtocolError && err.code === c;

describe("padding", () => {
  it("appends n copies of n and removes them again", () => {
    const body = Uint8Array.from([0x0a, 0x02, 0x68, 0x69]);
    for (let n = 1; n <= MAX_PADDING; n++) {
      const padded = pad(body, n);
      assert.equal(padded.length, body.length + n);
      assert.deepEqual([...padded.subarray(body.length)], new Array(n).fill(n));
      assert.deepEqual([...unpad(padded)], [...body]);
    }
  });

  it("picks a random length in 1..15 when none is given, and uses them all", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(pad(new Uint8Array(3)).length - 3);
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it("refuses to pad with a length outside 1..15", () => {
    for (const n of [0, 16, -1, 1.5]) assert.throws(() => pad(new Uint8Array(1), n), code("invalid_field"));
  });

  it("rejects empty input as truncated", () => {
    assert.throws(() => unpad(new Uint8Array(0)), code("truncated"));
  });

  it("rejects a last byte of 0 or above 15", () => {
    assert.throws(() => unpad(Uint8Array.from([1, 2, 0])), code("malformed"));
    assert.throws(() => unpad(Uint8Array.from([1, 2, 16])), code("malformed"));
    assert.throws(() => unpad(Uint8Array.from([1, 2, 0xff])), code("malformed"));
  });

  it("rejects padding longer than the input", () => {
    assert.throws(() => unpad(Uint8Array.from([5, 5, 5])), code("truncated"));
  });

  it("rejects padding bytes that differ from n", () => {
    assert.throws(() => unpad(Uint8Array.from([9, 3, 2, 3])), code("malformed"));
    assert.throws(() => unpad(Uint8Array.from([4, 4, 4, 5, 4])), code("malformed"));
  });

  it("accepts input that is all padding (the content decoder rejects the empty message)", () => {
    assert.equal(unpad(Uint8Array.from([3, 3, 3])).length, 0);
  });
});
