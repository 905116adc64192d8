// The schema-less protobuf mutator stays within its size limit. The long fuzz run (10^6 inputs, client-frame) found
// the watchdog stopping the target as if the fuzzer hung: "repeat the field" copies a field up to 300 times, three
// edits a mutation, and an input kept in the corpus is mutated again, so a sub-message grew by hundreds of times per
// generation until one mutation spent seconds building and re-parsing megabytes.
import assert from "node:assert/strict";
import { MAX_PROTOBUF, mutateProtobuf } from "../../bench/fuzz/protobuf-wire.js";
import { random } from "../../bench/fuzz/random.js";

/** field 1 { field 2 { field 3: "hello" } field 4: 7 } */
const SEED = Uint8Array.of(0x0a, 0x0b, 0x12, 0x07, 0x1a, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x07);

describe("fuzzer: protobuf wire mutations", function () {
  this.timeout(120_000);

  it("stay within the size limit when each output is mutated again, as corpus entries are", () => {
    for (let seed = 0; seed < 4; seed++) {
      const r = random(seed);
      let input: Uint8Array = SEED;
      const corpus: Uint8Array[] = [SEED];
      let largest = 0;
      for (let generation = 0; generation < 120; generation++) {
        const out = mutateProtobuf(r, input, corpus);
        if (!out) continue;
        assert.ok(out.length <= MAX_PROTOBUF, `seed ${seed}, generation ${generation}: ${out.length} bytes`);
        largest = Math.max(largest, out.length);
        // Keep the larger input, the way a corpus keeps what got somewhere new.
        if (out.length >= input.length) input = out;
        if (corpus.length < 8) corpus.push(out);
      }
      assert.ok(largest > 0);
    }
  });

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
