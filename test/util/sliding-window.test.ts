// The in-memory flood window the bridge and the gatekeeper share: it rolls, says when the next event fits, and stays
// bounded in keys however many senders appear.
import assert from "node:assert/strict";
import { SlidingWindow } from "../../src/util/sliding-window.js";

describe("SlidingWindow", () => {
  const t0 = 1_767_225_600_000;

  it("admits up to the limit per key, says when the next one fits, and rolls", () => {
    const window = new SlidingWindow(60_000);
    for (let i = 0; i < 3; i++) {
      assert.equal(window.retryAfterMs("a", 3, t0 + i * 10_000), 0);
      window.add("a", t0 + i * 10_000);
    }
    assert.equal(window.retryAfterMs("a", 3, t0 + 30_000), 30_000, "when the first of the three leaves the window");
    assert.equal(window.retryAfterMs("b", 3, t0 + 30_000), 0, "another key counts on its own");
    assert.equal(window.retryAfterMs("a", 3, t0 + 60_000), 0);
    assert.equal(window.count("a", t0 + 60_000), 2);
    assert.equal(window.retryAfterMs("a", 1, t0 + 60_000), 20_000, "under a limit of one, the newest must leave too");
  });

  it("forgets the key counted least recently past its size", () => {
    const window = new SlidingWindow(60_000, 2);
    window.add("a", t0);
    window.add("b", t0 + 1);
    window.add("a", t0 + 2);
    window.add("c", t0 + 3);
    assert.equal(window.count("b", t0 + 4), 0, "b was the least recently counted");
    assert.equal(window.count("a", t0 + 4), 2);
    assert.equal(window.count("c", t0 + 4), 1);
  });
});
