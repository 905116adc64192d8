// Management-room commands as data: parsing, generated help and usage, roles, and what each command answers.
import assert from "node:assert/strict";
import { COMMANDS, helpText, parseCommand, runCommand, type CommandDef } from "../../src/core/commands/index.js";
import { RemoteError } from "../../src/core/ports.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, type CoreWorld } from "./fakes.js";

const ROOT = "@root:example.org";
const MGMT = "!mgmt:example.org";

/** A command only admins may run, to see roles at work; it records that it ran. */
function adminCommand(ran: string[]): CommandDef {
  return { name: "reload", aliases: ["rl"], summary: () => "read the config again", level: "admin", run: async ({ userId, reply }) => (ran.push(userId), reply("reloaded")) };
}

describe("core: commands", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld({ permissions: { "example.org": "user", [ROOT]: "admin" }, directory: { [ANNA]: "Anna" } });
    await w.store.users.ensure(ALICE, `local:${ALICE}`);
    await w.store.users.setManagementRoom(ALICE, MGMT);
  });
  afterEach(async () => w.close());

  let n = 0;
  /** Alice writes `body` in her management room; returns what the bot answered (one notice, or none). */
  async function command(body: string): Promise<string | undefined> {
    const before = w.matrix.events().length;
    const eventId = `$cmd${++n}`;
    await w.core.handleMatrixEvent({ type: "m.room.message", room_id: MGMT, sender: ALICE, event_id: eventId, content: { msgtype: "m.text", body } });
    const replies = w.matrix.events().slice(before);
    assert.ok(replies.length <= 1, JSON.stringify(replies));
    if (replies[0]) {
      assert.equal(replies[0].asUser, BOT);
      assert.equal(replies[0].roomId, MGMT);
      assert.equal(replies[0].txnId, `cmd-${eventId}`);
      assert.equal(replies[0].content.msgtype, "m.notice");
    }
    return replies[0]?.content.body as string | undefined;
  }

  describe("help", () => {
    it("is generated from the definitions: one line per command, with its argument", async () => {
      const help = await command("help");
      assert.equal(
        help,
        [
          "This is the FakeNet bridge. Commands:",
          "• start-chat <fake number> — open a chat with a FakeNet user (digits)",
          "• list — your bridged chats",
          '• requests [on|off] — your message requests (first messages from FakeNet numbers you never chatted with); "on" or "off" for yourself',
          "• accept <fake number> — accept a message request: the chat opens with the messages it held",
          "• ignore <fake number> — drop a message request and what it held",
          "• block <fake number> — stop a FakeNet user's messages to you (in a chat: that chat's contact)",
          "• unblock <fake number> — let a blocked user write to you again",
          "• blocked — the users you blocked",
          "• reachable [everyone|contacts|nobody] — who may write to you from FakeNet: everyone, your contacts (numbers you wrote to or accepted) or nobody",
          "• space — invite you (again) to the space of your FakeNet chats",
          "• ping — the state of the connection to FakeNet",
          "• logout — remove your FakeNet identity and all your chats from the bridge (asks for confirmation)",
          "• confirm <code> — carry out the command that asked for confirmation",
          "• help — this text",
          "In a chat with a FakeNet user, send:",
          "• !fake safety-number — show the security code with the contact, to compare with the one their FakeNet shows",
          "• !fake verify [<code>] — mark the contact's security code as verified, after comparing it (give the code to have it checked)",
          "• !fake report [<count>] [spam|abuse|scam|other] — report the contact to FakeNet, with their last 5 messages (or <count>; as a reply: that message too); the reason defaults to spam",
          "• !fake disappearing <timer> — set the chat's disappearing-messages timer (off, 24h, 7d or 90d), for you and the contact's FakeNet",
          "You can also start a chat by inviting a FakeNet user's Matrix ID to a new direct chat.",
        ].join("\n"),
      );
      for (const def of COMMANDS.filter((c) => c.level === "user")) assert.match(help!, new RegExp(`^• (?:!fake )?${def.name}\\b`, "m"));
    });

    it("shows an admin command to admins only", async () => {
      const commands = [...COMMANDS, adminCommand([])];
      assert.doesNotMatch(helpText(w.ctx, ALICE, commands), /reload/);
      assert.match(helpText(w.ctx, ROOT, commands), /^• reload — read the config again$/m);
    });
  });

  describe("parsing", () => {
    it("finds commands by name or alias, case-insensitively, with the rest as arguments", async () => {
      const parsed = parseCommand("  PM   +49 151  1234 ", "!fake");
      assert.equal(parsed?.kind, "command");
      assert.equal(parsed?.kind === "command" && parsed.def.name, "start-chat");
      assert.equal(parsed?.kind === "command" && parsed.args, "+49 151 1234");
    });

    it("accepts the network's command prefix", async () => {
      const parsed = parseCommand("!FAKE list", "!fake");
      assert.equal(parsed?.kind === "command" && parsed.def.name, "list");
      assert.deepEqual(parseCommand("!fakelist", "!fake"), { kind: "unknown", word: "!fakelist" });
    });

    it("is nothing for a body without words", async () => {
      assert.equal(parseCommand(" \n ", "!fake"), null);
    });
  });

  it("answers an unknown command", async () => {
    assert.equal(await command("frobnicate now"), 'Unknown command "frobnicate". Send "help" for the list of commands.');
  });

  it("answers nothing to an empty message", async () => {
    assert.equal(await command("   "), undefined);
  });

  it("runs commands with the !fake prefix", async () => {
    assert.match((await command("!fake ping")) ?? "", /^Bridge is connected to FakeNet/);
  });

  it("ignores messages of others in the user's management room", async () => {
    await w.core.handleMatrixEvent({ type: "m.room.message", room_id: MGMT, sender: "@bob:example.org", event_id: "$bob", content: { msgtype: "m.text", body: "help" } });
    assert.deepEqual(w.matrix.calls, []);
  });

  describe("start-chat", () => {
    it("without an argument answers with the generated usage, also under an alias", async () => {
      assert.equal(await command("start-chat"), "Usage: start-chat <fake number>, for example: start-chat 1234");
      assert.equal(await command("pm"), "Usage: start-chat <fake number>, for example: start-chat 1234");
      assert.deepEqual(w.remote.lookups, []);
    });

    it("with an invalid number answers with the InputError's message, and looks nothing up", async () => {
      assert.equal(await command("start-chat 12"), '"12" is no fake number');
      assert.deepEqual(w.remote.lookups, []);
      assert.deepEqual(w.matrix.called("createPortalRoom"), []);
    });

    it("opens the chat and says it is ready", async () => {
      const answer = await command("start-chat +49 151 12345678");
      const room = (await w.store.portals.get(ALICE, ANNA))?.roomId;
      assert.ok(room);
      assert.equal(answer, `Chat with ~4915112345678 is ready: https://matrix.to/#/${room} (you have been invited).`);
      assert.deepEqual((w.matrix.called("createPortalRoom")[0]?.args[0] as { puppetUserId: string }).puppetUserId, ANNA_PUPPET);
    });

    it("says why when the contact cannot be reached", async () => {
      w.remote.failing.set(ANNA, new RemoteError("blocked", "blocked"));
      assert.equal(await command("start 4915112345678"), "⚠ ~4915112345678 has blocked you on FakeNet.");
      assert.deepEqual(w.matrix.called("createPortalRoom"), []);
    });
  });

  describe("list", () => {
    it("without chats says how to start one", async () => {
      assert.equal(await command("list"), "You have no bridged chats yet. Start one with: start-chat <fake number>");
    });

    it("lists the chats with links, oldest first, leaving out forgotten ones", async () => {
      await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA, roomId: "!anna:example.org", encrypted: false }, 1);
      await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: "fake:1234", roomId: "!b:example.org", encrypted: false }, 2);
      await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: "fake:5678", roomId: null, encrypted: false });
      await w.store.portals.upsert({ matrixUser: ROOT, remoteUri: "fake:9999", roomId: "!root:example.org", encrypted: false });
      assert.equal(await command("list"), "Your FakeNet chats:\n• ~4915112345678 — https://matrix.to/#/!anna:example.org\n• ~1234 — https://matrix.to/#/!b:example.org");
    });
  });

  describe("ping", () => {
    it("reports a connected network", async () => {
      assert.equal(await command("ping"), "Bridge is connected to FakeNet since 1970-01-01T00:00:00.000Z. Messages waiting to be sent: 0.");
    });

    it("reports a disconnected network", async () => {
      w.remote.connected = false;
      assert.equal(
        await command("ping"),
        "Bridge is NOT connected to FakeNet (since 1970-01-01T00:00:00.000Z); messages are queued and will be sent when it is back. Messages waiting to be sent: 0.",
      );
    });
  });

  describe("roles", () => {
    it("a user running an admin command is told who may, and it does not run", async () => {
      const ran: string[] = [];
      await runCommand(w.ctx, ALICE, MGMT, "reload", "$r1", [...COMMANDS, adminCommand(ran)]);
      assert.deepEqual(ran, []);
      assert.deepEqual(w.matrix.notices(), [{ asUser: BOT, roomId: MGMT, body: "Sorry, only bridge admins may use this command." }]);
    });

    it("an admin may run it (by alias too)", async () => {
      const ran: string[] = [];
      await runCommand(w.ctx, ROOT, "!rootmgmt:example.org", "rl", "$r2", [...COMMANDS, adminCommand(ran)]);
      assert.deepEqual(ran, [ROOT]);
      assert.deepEqual(w.matrix.notices(), [{ asUser: BOT, roomId: "!rootmgmt:example.org", body: "reloaded" }]);
    });

    it("an admin may run user commands", async () => {
      await runCommand(w.ctx, ROOT, "!rootmgmt:example.org", "list", "$r3");
      assert.match(w.matrix.notices()[0]?.body ?? "", /^You have no bridged chats yet/);
    });
  });
});
