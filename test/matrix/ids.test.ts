import assert from "node:assert/strict";
import {
  assertMxc,
  InvalidMatrixIdError,
  isEventId,
  isRoomAlias,
  isRoomId,
  isUserId,
  parseMxc,
  userLocalpart,
  userServerName,
} from "../../src/matrix/ids.js";

describe("matrix ids", () => {
  it("accepts user IDs, including historical localparts and ports", async () => {
    assert.ok(isUserId("@alice:example.org"));
    assert.ok(isUserId("@wa_4915112345678:localhost"));
    assert.ok(isUserId("@Old.Style!user:matrix.example.org:8448"));
    assert.ok(isUserId("@bob:[::1]:8008"));
    assert.ok(isUserId("@bob:127.0.0.1"));
  });

  it("rejects malformed user IDs", async () => {
    for (const bad of ["alice:example.org", "@alice", "@:example.org", "@al ice:example.org", "@alice:", "@alice:exa_mple.org", "!room:x", ""]) {
      assert.equal(isUserId(bad), false, bad);
    }
    assert.equal(isUserId(`@${"a".repeat(250)}:example.org`), false, "longer than 255 bytes");
  });

  it("accepts room IDs with and without a server name (room version 12)", async () => {
    assert.ok(isRoomId("!abcDEF:example.org"));
    assert.ok(isRoomId("!4AbdTa0fpLgmi7JBFD2PIIhFCGOWB9rHUyaA8jZV0vw"));
    assert.equal(isRoomId("#alias:example.org"), false);
    assert.equal(isRoomId("!"), false);
    assert.equal(isRoomId("!has space:example.org"), false);
  });

  it("accepts event IDs and aliases", async () => {
    assert.ok(isEventId("$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg"));
    assert.ok(isEventId("$143273582443PhrSn:example.org"));
    assert.equal(isEventId("Rqnc"), false);
    assert.equal(isEventId("$"), false);
    assert.ok(isRoomAlias("#room:example.org"));
    assert.equal(isRoomAlias("#:example.org"), false);
  });

  it("splits user IDs", async () => {
    assert.equal(userLocalpart("@wa_1:localhost:8008"), "wa_1");
    assert.equal(userServerName("@wa_1:localhost:8008"), "localhost:8008");
    assert.throws(() => userLocalpart("nope"), InvalidMatrixIdError);
  });

  it("parses mxc URIs", async () => {
    assert.deepEqual(parseMxc("mxc://localhost/AbC_12-x"), { serverName: "localhost", mediaId: "AbC_12-x" });
    assert.equal(parseMxc("mxc://localhost/"), undefined);
    assert.equal(parseMxc("mxc://localhost/a/b"), undefined);
    assert.equal(parseMxc("https://localhost/a"), undefined);
    assert.throws(() => assertMxc("mxc://bad host/x"), /not a valid Matrix mxc URI/);
  });
});
