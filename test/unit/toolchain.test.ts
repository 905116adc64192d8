import assert from "node:assert/strict";

describe("toolchain", () => {
  it("runs on Node >= 22", () => {
    const major = Number(process.versions.node.split(".")[0]);
    assert.ok(major >= 22, `Node ${process.versions.node} is too old`);
  });
});
