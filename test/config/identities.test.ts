import assert from "node:assert/strict";
import { botUserId, isPuppetUserId, puppetDisplayName, puppetLocalpart, puppetUserId, puppetUserIdRegex } from "../../src/config/identities.js";
import { permissionFor } from "../../src/config/permissions.js";

const config = {
  homeserver: { domain: "example.org" },
  appservice: { bot_localpart: "whatsappbot" },
  bridge: { puppet_localpart_template: "wa_{digits}", puppet_displayname_template: "{name} (WhatsApp)" },
};

describe("puppet and bot identities", () => {
  it("derives puppet localparts and user IDs from the template", () => {
    assert.equal(puppetLocalpart(config, "4915112345678"), "wa_4915112345678");
    assert.equal(puppetUserId(config, "+4915112345678"), "@wa_4915112345678:example.org");
    assert.equal(botUserId(config), "@whatsappbot:example.org");
  });

  it("rejects input that is not an E.164 number", () => {
    assert.throws(() => puppetLocalpart(config, "+4915112345678"), RangeError);
    assert.throws(() => puppetLocalpart(config, "015112345678"), RangeError);
    assert.throws(() => puppetLocalpart(config, "1234567890123456"), RangeError);
    assert.throws(() => puppetUserId(config, "4915112345678"), /starting with '\+'/);
  });

  it("recognises its own puppets and nothing else", () => {
    assert.equal(isPuppetUserId(config, "@wa_4915112345678:example.org"), "4915112345678");
    assert.equal(isPuppetUserId(config, "@wa_4915112345678:example.com"), null);
    assert.equal(isPuppetUserId(config, "@wa_4915112345678:example.org.evil"), null);
    assert.equal(isPuppetUserId(config, "@wa_:example.org"), null);
    assert.equal(isPuppetUserId(config, "@wa_0123:example.org"), null);
    assert.equal(isPuppetUserId(config, "@whatsappbot:example.org"), null);
    assert.equal(isPuppetUserId(config, "@alice:example.org"), null);
  });

  it("round-trips templates with a suffix and regex metacharacters", () => {
    const custom = { ...config, homeserver: { domain: "matrix.example.org:8448" }, bridge: { ...config.bridge, puppet_localpart_template: "whatsapp.{digits}+x" } };
    const userId = puppetUserId(custom, "+12025550123");
    assert.equal(userId, "@whatsapp.12025550123+x:matrix.example.org:8448");
    assert.equal(isPuppetUserId(custom, userId), "12025550123");
    // "." must not match any character, "+" must be literal.
    assert.equal(isPuppetUserId(custom, "@whatsappX12025550123+x:matrix.example.org:8448"), null);
    assert.equal(isPuppetUserId(custom, "@whatsapp.12025550123xx:matrix.example.org:8448"), null);
    const regex = new RegExp(puppetUserIdRegex(custom));
    assert.ok(regex.test(userId));
    assert.ok(!regex.test("@whatsappX12025550123+x:matrix.example.org:8448"));
  });

  it("builds display names, falling back to the formatted number", () => {
    assert.equal(puppetDisplayName(config, "+4915112345678", "Anna"), "Anna (WhatsApp)");
    assert.equal(puppetDisplayName(config, "+4915112345678", "  "), "+49 1511 2345678 (WhatsApp)");
    assert.equal(puppetDisplayName(config, "+4915112345678"), "+49 1511 2345678 (WhatsApp)");
    const both = { bridge: { puppet_displayname_template: "{name} ({phone})" } };
    assert.equal(puppetDisplayName(both, "+12025550123", "Bob"), "Bob (+1 202 555 0123)");
    // A replacement containing a placeholder is not expanded again.
    assert.equal(puppetDisplayName(both, "+12025550123", "{phone}"), "{phone} (+1 202 555 0123)");
  });
});

describe("permissions", () => {
  const rules = {
    bridge: {
      permissions: {
        "*": "user",
        "example.org": "admin",
        "@guest:example.org": "user",
        "@boss:other.net": "admin",
      } as Record<string, "user" | "admin">,
    },
  };

  it("resolves the most specific rule: user ID, then server name, then *", () => {
    assert.equal(permissionFor(rules, "@guest:example.org"), "user");
    assert.equal(permissionFor(rules, "@alice:example.org"), "admin");
    assert.equal(permissionFor(rules, "@boss:other.net"), "admin");
    assert.equal(permissionFor(rules, "@someone:other.net"), "user");
  });

  it("grants nothing without a matching rule or for malformed IDs", () => {
    const strict = { bridge: { permissions: { "example.org": "user" } as Record<string, "user" | "admin"> } };
    assert.equal(permissionFor(strict, "@alice:example.org"), "user");
    assert.equal(permissionFor(strict, "@alice:example.com"), null);
    assert.equal(permissionFor(strict, "@alice:sub.example.org"), null);
    assert.equal(permissionFor(strict, "alice:example.org"), null);
    assert.equal(permissionFor(strict, "@__proto__:example.net"), null);
    assert.equal(permissionFor(rules, "not an id"), null);
  });

  it("matches server names with ports exactly", () => {
    const ported = { bridge: { permissions: { "example.org:8448": "user" } as Record<string, "user" | "admin"> } };
    assert.equal(permissionFor(ported, "@a:example.org:8448"), "user");
    assert.equal(permissionFor(ported, "@a:example.org"), null);
  });
});
