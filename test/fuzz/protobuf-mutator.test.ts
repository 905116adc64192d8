// The schema-less protobuf mutator stays within its size limit. The long fuzz run (10^6 inputs, client-frame) found
// the watchdog stopping the target as if the fuzzer hung: "repeat the field" copies a field up to 300 times, three
// edits a mutation, and an input kept in the corpus is mutated again, so a sub-message grew by hundreds of times per
// generation until one mutation spent seconds building and re-parsing megabytes.
import assert from "node:assert/strict";
import { MAX_PROTOBUF, mutateProtobuf } from "../../bench/fuzz/protobuf-wire.js";
import { random } from "../../bench/fuzz/random.js";

describe("fuzzer: protobuf wire mutations", function () {
  this.timeout(120_000);

  it("copy a large field only as often as the limit allows", () => {
    const big = new Uint8Array(300_000).fill(0x61);
    const input = new Uint8Array(4 + big.length); // field 1: 300000 bytes
    input.set([0x0a, 0xe0, 0xa7, 0x12]);
    input.set(big, 4);
    for (let seed = 0; seed < 200; seed++) {
      const out = mutateProtobuf(random(seed), input, [input]);
      if (out) assert.ok(out.length <= MAX_PROTOBUF, `seed ${seed}: ${out.length} bytes`);
    }
  });
});
