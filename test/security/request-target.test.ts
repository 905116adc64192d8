import assert from "node:assert/strict";
import { checkRequestTarget } from "../../src/util/http-hardening.js";

describe("checkRequestTarget", () => {
  const accepted = [
    "/",
    "/health",
    "/_matrix/app/v1/transactions/123",
    "/_matrix/app/v1/users/%40wa_4915112345678%3Aexample.org",
    "/_matrix/app/v1/transactions/1?access_token=abc",
  ];
  for (const target of accepted) {
    it(`accepts ${target}`, async () => assert.equal(checkRequestTarget(target).ok, true));
  }

  const refused = [
    "http://x/_matrix/app/v1/transactions/1",
    "*",
    "",
    "/%5Fmatrix/app/v1/transactions/1",
    "/_matrix/%61pp/v1/transactions/1",
    "/_matrix//app/v1/transactions/1",
    "//_matrix/app/v1/transactions/1",
    "/_matrix/./app/v1/transactions/1",
    "/x/../_matrix/app/v1/transactions/1",
    "/_matrix/app/v1/transactions/1/",
    "/_matrix/app/v1/users%2fx",
    "/_matrix\\app/v1/transactions/1",
    "/%61dmin/users",
    "/admin/%7e",
    "/admin/users%zz",
    "/health#x",
  ];
  for (const target of refused) {
    it(`refuses ${JSON.stringify(target)}`, async () => {
      const result = checkRequestTarget(target);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, /\w/);
    });
  }
});

describe("checkRequestTarget with allowEncodedSlash", () => {
  it("lets an encoded slash through inside a segment, for URIs in one path segment", async () => {
    assert.equal(checkRequestTarget("/v1/keys/matrix%3Au%2Falice%3Aexample.org", { allowEncodedSlash: true }).ok, true);
    assert.equal(checkRequestTarget("/v1/keys/matrix%3Au%2Falice%3Aexample.org").ok, false);
  });
  it("still refuses everything else that is not normal", async () => {
    for (const target of ["/v1/keys/a%5Cb", "/v1//keys", "/%76%31/keys", "http://x/v1/keys"]) {
      assert.equal(checkRequestTarget(target, { allowEncodedSlash: true }).ok, false, target);
    }
  });
});
