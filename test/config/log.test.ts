import assert from "node:assert/strict";
import { createLogger, formatPrettyLine, redactDigits, redactPhone, redactUri } from "../../src/log.js";

function collector() {
  const lines: string[] = [];
  return { lines, write: (chunk: string) => lines.push(chunk) };
}

describe("logging", () => {
  it("masks phone numbers so that they can be told apart but not dialled", () => {
    assert.equal(redactPhone("+4915112345678"), "+49151*****678");
    assert.equal(redactPhone("+12025550123"), "+1202****123");
    assert.equal(redactPhone("+491234567"), "+491***567");
    assert.equal(redactPhone("+123456"), "+12***6");
    assert.equal(redactPhone("015112345678"), "[phone]");
    assert.equal(redactPhone("+49 151 1234"), "[phone]");
    for (const number of ["+4915112345678", "+12025550123", "+491234567", "+1234", "+123456789012345"]) {
      const masked = redactPhone(number);
      assert.equal(masked.length, number.length);
      assert.ok((masked.match(/\*/g) ?? []).length >= Math.max(3, Math.ceil((number.length - 1) / 3)), masked);
    }
  });

  it("masks tel: URIs and leaves other URIs alone", () => {
    assert.equal(redactUri("tel:+4915112345678"), "tel:+49151*****678");
    assert.equal(redactUri("tel:+4915112345678;ext=1"), "tel:+49151*****678");
    assert.equal(redactUri("matrix:u/alice:example.org"), "matrix:u/alice:example.org");
  });

  it("masks the numbers inside puppet IDs and request paths, but not message IDs", () => {
    assert.equal(redactDigits("@wa_4915112345678:example.org"), "@wa_49151*****678:example.org");
    assert.equal(redactDigits("GET /v1/keys/tel:+4915112345678"), "GET /v1/keys/tel:+49151*****678");
    assert.equal(redactDigits("@alice:example.org"), "@alice:example.org");
    assert.equal(redactDigits("000102030405060708090A0B0C0D0E0F"), "000102030405060708090A0B0C0D0E0F");
    assert.equal(redactDigits("room !abc:example.org, 12 messages"), "room !abc:example.org, 12 messages");
  });

  it("masks every number in every string of a line at info level, errors and paths included, and keeps them at debug", () => {
    for (const format of ["json", "pretty"] as const) {
      const out = collector();
      const logger = createLogger({ level: "info", format, name: "test" }, out);
      const err = new Error("GET /_matrix/client/v3/profile/%40wa_4915112345678%3Alocalhost failed");
      logger.warn({ user: "@wa_4915112345678:localhost", path: "/v1/keys/tel%3A%2B4915112345678", nested: { to: ["tel:+12025550123"] }, err }, "could not reach +4915112345678");
      const line = out.lines.join("");
      for (const full of ["4915112345678", "12025550123"]) assert.ok(!line.includes(full), `${format}: ${full} in ${line}`);
      assert.ok(line.includes("@wa_49151*****678:localhost") && line.includes("%2B49151*****678") && line.includes("+1202****123"), line);
      if (format === "json") assert.equal(typeof (JSON.parse(line) as { time: unknown }).time, "number", "the time stays a number");
    }
    const out = collector();
    createLogger({ level: "debug", format: "json" }, out).debug({ user: "@wa_4915112345678:localhost" }, "debug");
    assert.ok(out.lines.join("").includes("4915112345678"), "debug keeps them");
    assert.equal(redactDigits("tel%3A%2B4915112345678"), "tel%3A%2B49151*****678");
  });

  it("writes JSON lines with message contents and credentials redacted", () => {
    const out = collector();
    const logger = createLogger({ level: "info", format: "json", name: "test" }, out);
    logger.info({ body: "hello", event: { content: { body: "nested" } }, as_token: "t1", request: { access_token: "t2" }, room: "!r:x" }, "sent");
    logger.debug("hidden");
    assert.equal(out.lines.length, 1);
    const record = JSON.parse(out.lines[0] ?? "") as Record<string, unknown>;
    assert.equal(record.msg, "sent");
    assert.equal(record.name, "test");
    assert.equal(record.body, "[redacted]");
    assert.deepEqual(record.event, { content: { body: "[redacted]" } });
    assert.equal(record.as_token, "[redacted]");
    assert.deepEqual(record.request, { access_token: "[redacted]" });
    assert.equal(record.room, "!r:x");
    assert.ok(!out.lines[0]?.includes("hello"));
  });

  it("writes one readable line per entry in pretty format", () => {
    const out = collector();
    const logger = createLogger({ level: "debug", format: "pretty" }, out);
    logger.debug({ room: "!r:x", count: 2, text: "secret" }, "portal created");
    assert.equal(out.lines.length, 1);
    assert.match(out.lines[0] ?? "", /^\d\d:\d\d:\d\d\.\d{3} DEBUG portal created room=!r:x count=2 text=\[redacted\]\n$/);
    const withError = formatPrettyLine(JSON.stringify({ level: 50, time: 0, msg: "failed", err: { message: "boom", stack: "Error: boom\n    at x" } }));
    assert.equal(withError, "00:00:00.000 ERROR failed\n    Error: boom\n        at x\n");
  });
});
