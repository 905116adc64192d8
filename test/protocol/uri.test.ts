import assert from "node:assert/strict";
import {
  formatPhoneInternational,
  isValidUri,
  matrixUri,
  normalisePhoneNumber,
  parseUri,
  telUri,
  uriDigits,
} from "../../src/protocol/uri.js";
import { ProtocolError } from "../../src/protocol/errors.js";

const invalid = (e: unknown) => e instanceof ProtocolError && e.code === "invalid_field";

describe("phone numbers", () => {
  const accepted: [string, string | undefined, string][] = [
    ["+49 151 12345678", undefined, "+4915112345678"],
    ["+4915112345678", undefined, "+4915112345678"],
    ["0049 151-123 456 78", undefined, "+4915112345678"],
    ["0049 151-123 456 78", "DE", "+4915112345678"],
    ["(0151) 12345678", "DE", "+4915112345678"],
    ["0151/12345678", "de", "+4915112345678"],
    ["  +49 (0)151 1234 5678 ", undefined, "+4915112345678"],
    ["+1 (202) 555-0123", undefined, "+12025550123"],
    ["202.555.0123", "US", "+12025550123"],
    ["07911 123456", "GB", "+447911123456"],
    ["+33 6 12 34 56 78", "DE", "+33612345678"],
  ];
  for (const [input, country, e164] of accepted) {
    it(`normalises ${JSON.stringify(input)}${country ? ` (default ${country})` : ""}`, () => {
      assert.equal(normalisePhoneNumber(input, country), e164);
    });
  }

  const rejected: [string, string | undefined, RegExp][] = [
    ["", undefined, /empty/],
    ["   ", undefined, /empty/],
    ["(0151) 12345678", undefined, /country code/],
    ["hello", undefined, /letters/],
    ["+49 151 1234", undefined, /not a valid phone number/],
    ["+49 151 12345678 ext. 5", undefined, /letters/],
    ["+4915112345678;ext=1", undefined, /letters|extension/],
    ["+999 1234567", undefined, /not a valid phone number/],
    ["+49 151 12345678", "XX", /unknown default country/],
    ["1".repeat(100), undefined, /longer than/],
    // Found by `npm run fuzz`: libphonenumber takes these as valid German numbers of 16 digits, past E.164's 15.
    ["+4978345978345678", undefined, /too many digits/],
    ["07911 111 2.345678", "DE", /too many digits/],
  ];
  for (const [input, country, message] of rejected) {
    it(`rejects ${JSON.stringify(input.length > 20 ? `${input.slice(0, 20)}…` : input)}${country ? ` (default ${country})` : ""} with a clear message`, () => {
      assert.throws(
        () => normalisePhoneNumber(input, country),
        (e: unknown) => invalid(e) && message.test((e as Error).message),
      );
    });
  }

  it("formats E.164 numbers for display", () => {
    assert.equal(formatPhoneInternational("+4915112345678"), "+49 1511 2345678");
    assert.equal(formatPhoneInternational("+12025550123"), "+1 202 555 0123");
    assert.throws(() => formatPhoneInternational("015112345678"), invalid);
  });
});

describe("interop URIs", () => {
  it("builds and parses tel: URIs", () => {
    assert.equal(telUri("+4915112345678"), "tel:+4915112345678");
    assert.deepEqual(parseUri("tel:+4915112345678"), { kind: "tel", e164: "+4915112345678" });
    assert.equal(uriDigits("tel:+4915112345678"), "4915112345678");
    assert.equal(uriDigits("+4915112345678"), "4915112345678");
    assert.throws(() => telUri("+49 151 12345678"), invalid);
    assert.throws(() => uriDigits("matrix:u/alice:example.org"), invalid);
  });

  it("builds and parses matrix: URIs, percent-encoding what a path segment cannot hold", () => {
    const cases: [string, string][] = [
      ["@alice:example.org", "matrix:u/alice:example.org"],
      ["@a.b_c=d-e+f:matrix.example.org", "matrix:u/a.b_c=d-e+f:matrix.example.org"],
      ["@alice/work:example.org:8448", "matrix:u/alice%2Fwork:example.org:8448"],
      ["@Bob#1:[::1]", "matrix:u/Bob%231:[::1]"],
      ["@x%y?z:127.0.0.1:8008", "matrix:u/x%25y%3Fz:127.0.0.1:8008"],
    ];
    for (const [userId, uri] of cases) {
      assert.equal(matrixUri(userId), uri);
      assert.deepEqual(parseUri(uri), { kind: "matrix", userId });
    }
  });

  it("rejects malformed Matrix user IDs", () => {
    for (const bad of ["alice:example.org", "@:example.org", "@alice", "@alice:", "@al ice:example.org", "@alice:exa mple.org", "@alice:example.org:99999", `@${"a".repeat(260)}:example.org`, "@é:example.org"]) {
      assert.throws(() => matrixUri(bad), invalid, bad);
    }
  });

  it("accepts only canonical URIs", () => {
    const bad = [
      "",
      "tel:4915112345678",
      "tel:+49 151 12345678",
      "tel:+4915112345678;ext=1",
      "tel:+0915112345678",
      "tel:+12345",
      "tel:+1234567890123456",
      "TEL:+4915112345678",
      "matrix:u/alice%2fwork:example.org",
      "matrix:u/alice%2:example.org",
      "matrix:u/%61lice:example.org",
      "matrix:u/alice:example.org?action=chat",
      "matrix:u/alice:example.org#x",
      "matrix:u/alice",
      "matrix:r/room:example.org",
      "mailto:alice@example.org",
      "@alice:example.org",
      `tel:+49${"1".repeat(900)}`,
    ];
    for (const s of bad) {
      assert.equal(isValidUri(s), false, s);
      assert.throws(() => parseUri(s), invalid, s);
    }
  });

  it("names the field in the error", () => {
    assert.throws(() => parseUri("x", "envelope.sender"), (e: unknown) => invalid(e) && (e as ProtocolError).field === "envelope.sender");
  });
});
