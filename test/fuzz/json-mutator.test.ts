// The JSON mutator stays within its size limit. The long fuzz run (10^6 inputs per target) found it spending seconds
// on single mutations: random arrays nested three deep, or 2000 copies of a large node, built documents of gigabytes
// before the size check threw them away, and the watchdog stopped the target as if the fuzzer hung.
import assert from "node:assert/strict";
import { largerThan, MAX_TEXT, mutateJson, mutateJsonText, TooLarge } from "../../bench/fuzz/json.js";
import { random } from "../../bench/fuzz/random.js";

const dictionary = { keys: ["a", "b", "info", "url"], strings: ["m.image", "x"] };

describe("fuzzer: JSON mutations", function () {
  this.timeout(120_000);

  it("never build a document far past the size limit, whatever the seed", () => {
    // Three edits at most, each kept within the limit: anything bigger means an edit ran away.
    const bound = 4 * MAX_TEXT;
    let grownPastLimit = 0;
    for (let seed = 0; seed < 20_000; seed++) {
      const root = JSON.parse('{"msgtype":"m.image","info":{"w":1,"list":[1,[2,[3]],{"a":"b"}]},"body":"x"}');
      try {
        const out = mutateJson(random(seed), root, dictionary, [root]);
        assert.ok(!largerThan(out, bound), `seed ${seed} built a document past ${bound} bytes`);
      } catch (err) {
        if (!(err instanceof TooLarge)) throw err;
        grownPastLimit++;
      }
    }
    // The limit is a backstop for rare runaway edits, not what most mutations meet.
    assert.ok(grownPastLimit < 200, `${grownPastLimit} of 20000 mutations hit the limit`);
  });

  it("copy a large array item only as often as the limit allows", () => {
    const big = "x".repeat(1_000_000);
    for (let seed = 0; seed < 400; seed++) {
      const text = mutateJsonText(random(seed), JSON.stringify({ a: [big], b: [[big]] }), dictionary, []);
      // A text edit on top may splice the text with itself (twice the length) or add deep nesting (half a megabyte).
      assert.ok(text.length <= 2 * MAX_TEXT + 600_000, `seed ${seed}: ${text.length} characters`);
    }
    // 2000 copies of a 1 MB string were asked for now and then; what is built is bounded all the same.
    for (let seed = 0; seed < 400; seed++) {
      try {
        const out = mutateJson(random(seed), { a: [big] }, dictionary, []);
        assert.ok(!largerThan(out, 4 * MAX_TEXT), `seed ${seed}`);
      } catch (err) {
        if (!(err instanceof TooLarge)) throw err;
      }
    }
  });
});
