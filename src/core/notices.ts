// Every sentence the bridge says to a Matrix user, in one place. `network` is the configured network name
// ("WhatsApp"), `who` a contact as people write it ("+49 1511 2345678").

export const notices = {
  notAllowed: (network: string) =>
    `Sorry, you are not allowed to use this ${network} bridge. Ask the homeserver admin to add you to the bridge's permissions.`,
  needsLevel: (level: string) => `Sorry, only bridge ${level}s may use this command.`,
  encryptionNotAllowed: () =>
    "⚠ This message was not delivered: this bridge is set up without Matrix encryption, so it cannot read encrypted messages.",
  notDelivered: (reason: string) => `⚠ Not delivered: ${reason}`,
  notDeliveredBecause: (reason: string) => `⚠ Not delivered: ${reason}.`,
  stickerAsImage: (network: string, reason: string) => `ℹ Your sticker was sent to ${network} as an image: ${reason}.`,
  givenUpOutgoing: (why: string) => `⚠ Not delivered. ${why}`,
  earlyUnreadable: (count: number, who: string) =>
    `⚠ ${count === 1 ? "A message" : `${count} messages`} you sent before ${who} joined this chat could not be read: ${count === 1 ? "it was" : "they were"} encrypted before the bridge could receive the key. Please send ${count === 1 ? "it" : "them"} again.`,
  outage: (network: string) =>
    `⏳ ${network} cannot be reached right now. Your messages are kept and will be sent automatically when the connection is back.`,

  identityChanged: (who: string, network: string) =>
    `🔐 The security code of ${who} changed (new phone or reinstalled ${network}). Messages stay end-to-end encrypted.`,
  // Identity news (safety.ts): one notice per change, naming the device; prominent when the user had verified.
  securityCodeChanged: (who: string, device: number, network: string, compare: string) =>
    `🔐 The security code with ${who} changed (device ${device}: a new phone or ${network} reinstalled). Messages stay end-to-end encrypted. To compare the new code with ${who}'s, send "${compare}" here.`,
  newDevice: (who: string, device: number, compare: string) =>
    `🔐 ${who} added a new device (device ${device}), with a security code of its own. To compare it with ${who}'s, send "${compare}" here.`,
  verifiedCodeChanged: (who: string, device: number, compare: string, verify: string, held: boolean) =>
    `⚠️🔐 THE SECURITY CODE WITH ${who} CHANGED, and you had verified it (device ${device}). This is normal after a new phone or a reinstall, but it can also mean someone is intercepting the chat. Compare the new code with ${who} in person or on a call ("${compare}"), then send "${verify}".${held ? " Until then, your messages here are held, not sent." : ""}`,
  verifiedNewDevice: (who: string, device: number, compare: string, verify: string, held: boolean) =>
    `⚠️🔐 ${who}, whom you had verified, added a new device (device ${device}) that you have not verified. Compare its security code with ${who} ("${compare}"), then send "${verify}".${held ? " Until then, your messages here are held, not sent." : ""}`,
  heldRateLimited: (network: string, afterMs: number | undefined) =>
    `⏳ Not sent yet: ${network} is limiting how fast messages can be sent. It is kept and goes out by itself${afterMs ? ` in about ${Math.max(1, Math.ceil(afterMs / 60_000))} minute${afterMs > 60_000 ? "s" : ""}` : " shortly"}.`,
  heldOverMessageLimit: (limit: number, afterMs: number) =>
    `⏳ Not sent yet: this bridge lets you send ${limit} message${limit === 1 ? "" : "s"} a minute, and you reached that. Your messages are kept and go out by themselves, in order, starting in about ${inSeconds(afterMs)}.`,
  overMessageLimit: (limit: number) => `you sent more than ${limit} message${limit === 1 ? "" : "s"} in a minute, which is this bridge's limit; wait a moment and send it again`,
  overPortalLimit: (limit: number, afterMs: number) =>
    `You opened ${limit} new chat${limit === 1 ? "" : "s"} in the last hour, which is this bridge's limit. You can open the next one in about ${inMinutes(afterMs)}; chats you already have keep working.`,
  heldForVerification: (who: string, compare: string, verify: string) =>
    `⏸ Not sent yet: the security code with ${who} changed since you verified it. Compare it ("${compare}"), then send "${verify}"; held messages then go out.`,
  safetyNumbers: (who: string, lines: string[]) => `🔐 Security code with ${who} (the same on ${who}'s phone if nobody is in between):\n${lines.join("\n")}`,
  safetyNumberLine: (device: number | undefined, grouped: string, qr: string) =>
    `${device === undefined ? "" : `Device ${device}: `}${grouped}\nQR code content: ${qr}`,
  noSafetyNumber: (who: string) => `There is no security code with ${who} yet: it exists once one of you has written to the other.`,
  verified: (who: string, devices: number[]) =>
    `✅ You verified the security code with ${who}${devices.length > 1 ? ` (devices ${devices.join(", ")})` : ""}. You will be told prominently if it changes.`,
  verifyMismatch: (who: string) =>
    `❌ That code does not match the security code with ${who}. Nothing was verified. If you compared correctly, someone may be intercepting the chat: do not send sensitive messages.`,
  youBlocked: (who: string, network: string, prefix: string) =>
    `🚫 You blocked ${who}. ${network} refuses their messages to you, and they see them as not delivered. To undo: "${prefix} unblock" in this chat, or "unblock" with the number in the management room.`,
  youUnblocked: (who: string) => `✅ You unblocked ${who}: their messages reach you again.`,
  youBlockedThem: (who: string, prefix: string) => `you blocked ${who}; send "${prefix} unblock" to write to them again`,
  noneBlocked: () => "You have blocked nobody.",
  blockedList: (whos: string[]) => `You blocked:\n${whos.map((w) => `• ${w}`).join("\n")}`,
  reported: (who: string, network: string, messages: number, ref: string, prefix: string) =>
    `🚩 You reported ${who} to ${network}${messages > 0 ? `, with ${messages === 1 ? "1 message" : `${messages} messages`} as evidence` : ""} (reference ${ref}). ${network} sees which messages, not what they say. To stop their messages too: "${prefix} block".`,
  messageRequest: (number: string, name: string | undefined, network: string, preview: string, prefix: string, expires: string) =>
    `📨 Message request from ${number}${name ? ` ("${name}" in the ${network} directory)` : ""}, who was not in your chats before:\n> ${preview.replace(/\n/g, "\n> ")}\n` +
    `Reply "accept ${number.replace(/\s/g, "")}" to open the chat (their messages follow in order), "block ${number.replace(/\s/g, "")}" to refuse this number, or "ignore ${number.replace(/\s/g, "")}" to drop the request. ` +
    `Or react here: ✅ accept, 🚫 block, 🗑️ ignore. Until then nothing of yours is sent to them and they do not see that you read it. The request expires on ${expires}.`,
  requestExpired: (who: string, held: number) => `⌛ The message request from ${who} expired; ${held === 1 ? "its message was" : `its ${held} messages were`} dropped.`,
  requestAccepted: (who: string, held: number, notKept: number, roomId: string) =>
    `✅ You accepted ${who}: https://matrix.to/#/${roomId}${held > 0 ? ` (${held === 1 ? "1 message" : `${held} messages`} delivered there)` : ""}${notKept > 0 ? `. ${notKept} more ${notKept === 1 ? "was" : "were"} not kept: a request holds only so many.` : ""}`,
  requestBlocked: (who: string, network: string) => `🚫 You blocked ${who}; ${network} refuses their messages to you from now on. The request and its messages are gone.`,
  requestIgnored: (who: string) => `🗑️ The request from ${who} is dropped. If they write again, you get a new request.`,
  noRequest: (who: string) => `There is no message request from ${who}.`,
  requestList: (lines: string[]) => `Message requests:\n${lines.join("\n")}`,
  requestLine: (who: string, held: number, expires: string) => `• ${who} — ${held === 1 ? "1 message" : `${held} messages`}, expires ${expires}`,
  noRequests: (enabled: boolean) => (enabled ? "You have no message requests." : "You have no message requests, and they are off: first messages from new numbers open a chat directly."),
  requestsSwitched: (on: boolean) =>
    on ? "Message requests are on: first messages from numbers you never chatted with wait here for your answer." : "Message requests are off: first messages from new numbers open a chat directly.",
  reachability: (setting: "everyone" | "contacts" | "nobody", network: string, changed: boolean) => {
    const who =
      setting === "everyone"
        ? `everyone on ${network} can write to you`
        : setting === "contacts"
          ? `only your contacts can write to you from ${network}: numbers you started a chat with or wrote to, and message requests you accepted. Others' messages are refused, and to them it looks as if you had blocked them`
          : `nobody can write to you from ${network}: every message to you is refused, and to the sender it looks as if you had blocked them. You can still write to others`;
    if (!changed) return `Now ${who}. Change it with "reachable everyone", "reachable contacts" or "reachable nobody".`;
    return `✅ From now on, ${who}.${setting === "everyone" ? "" : ' To undo: "reachable everyone".'}`;
  },
  spaceReady: (network: string, roomId: string) => `Your ${network} chats are in this space: https://matrix.to/#/${roomId} (you have been invited).`,
  spacesOff: () => "This bridge is set up without a space for your chats.",
  noSafety: (network: string) => `${network} does not support this through the bridge.`,
  portalOnly: (prefix: string, name: string) => `Send "${prefix} ${name}" in the chat with the contact, not here.`,
  voteUnreadable: (who: string, why: string, network: string) => `⚠ ${who} voted in a poll, but the vote could not be shown here: ${why}. Open ${network} to see it.`,
  undisclosedPoll: (network: string) => `ℹ ${network} has no undisclosed polls: there everyone in the chat sees the votes as they come in.`,
  cannotShow: (who: string, what: string, network: string) =>
    `⚠ ${who} sent ${what}, which this bridge cannot show. Open ${network} to see it.`,
  mediaFailed: (who: string, what: string, reason: string) => `⚠ ${who} sent ${what} that could not be bridged: ${reason}`,
  cut: (who: string, shown: number, total: number, network: string) =>
    `✂ This message from ${who} was too long for Matrix: ${shown} of ${total} characters are shown. Open ${network} to see all of it.`,
  givenUpIncoming: (who: string, why: string, network: string) =>
    `⚠ A message from ${who} could not be shown here. ${why} Open ${network} to see it.`,
  editFallback: "✏️ ",
  deletedReason: (network: string) => `Deleted on ${network}`,
  reactionChangedReason: "Reaction changed",

  // Why something could not be done with a contact (RemoteError reasons).
  unknownUser: (who: string, network: string) => `${who} is not on ${network}.`,
  blocked: (who: string, network: string) => `${who} has blocked you on ${network}.`,
  rateLimited: (network: string) => `${network} is limiting how fast messages can be sent; try again in a moment.`,
  invalid: (network: string) => `${network} refused the message as invalid.`,
  unreachable: (network: string) => `${network} cannot be reached right now.`,
  internal: (ref: string) => `Something went wrong in the bridge (reference ${ref}; the bridge admin can look it up in the log).`,

  // Management room.
  unknownCommand: (word: string) => `Unknown command "${word}". Send "help" for the list of commands.`,
  unknownPortalCommand: (word: string, prefix: string) =>
    `Unknown command "${word}". Send "${prefix} help" for the commands of this chat. (Messages starting with "${prefix}" are not sent to the contact.)`,
  managementOnly: (name: string) => `"${name}" works in your management room with the bridge, not in a chat.`,
  usage: (usage: string, example?: string) => `Usage: ${usage}${example ? `, for example: ${example}` : ""}`,
  noChats: (noun: string) => `You have no bridged chats yet. Start one with: start-chat <${noun}>`,
  chatList: (network: string, lines: string[]) => `Your ${network} chats:\n${lines.join("\n")}`,
  chatLine: (who: string, roomId: string) => `• ${who} — https://matrix.to/#/${roomId}`,
  confirmRequest: (what: string, code: string, minutes: number) =>
    `⚠ This will ${what}. It cannot be undone. To go on, send "confirm ${code}" within ${minutes} minutes.`,
  nothingToConfirm: () => "There is nothing to confirm (or it was asked more than 5 minutes ago); send the command again.",
  wrongConfirmCode: (what: string) => `That is not the code for "${what}". Send "confirm" with the code from the question.`,

  // Admin commands.
  version: (network: string, version: string) => `${network} bridge (matrix-dma-bridge) version ${version}.`,
  notAvailable: () => "This is not available in this bridge's runtime.",
  notAUserId: (given: string) => `"${given}" is not a Matrix user ID (@name:server).`,
  notARoomId: (given: string) => `"${given}" is not a room ID (!id:server).`,
  userPortals: (userId: string, lines: string[]) =>
    lines.length === 0 ? `${userId} has no portals.` : `Portals of ${userId}:\n${lines.join("\n")}`,
  adminChatLine: (who: string, roomId: string, encrypted: boolean) => `• ${who} — ${roomId}${encrypted ? " (encrypted)" : ""}`,
  noSuchPortal: (roomId: string) => `${roomId} is not a portal of this bridge.`,
  portalDeletedByUser: () => "This chat was closed from an app connected to the bridge. The next message from either side opens a new one.",
  portalDeletedHere: () => "This chat was closed by the bridge admin. The next message from either side opens a new one.",
  portalDeleted: (who: string, userId: string, roomId: string) => `Deleted the portal of ${userId} with ${who} (${roomId}); its puppet left the room.`,
  profileSynced: (who: string, name: string, portals: number) => `Profile of ${who} synced: "${name}", bridge info updated in ${portals} portal${portals === 1 ? "" : "s"}.`,
  statusReport: (lines: string[]) => `Bridge status:\n${lines.join("\n")}`,
  notBridgeUser: (userId: string) => `${userId} is neither the bridge bot nor one of its puppets.`,
  cryptoReset: (userId: string, deviceId: string) =>
    `${userId} has a new Matrix device (${deviceId}), cross-signed; the old one was retired. Others' clients will see a new device.`,
  loggedOut: (network: string, portals: number) =>
    `Done: your ${network} identity, keys and ${portals} chat${portals === 1 ? "" : "s"} were removed. Writing again (or start-chat) makes a new identity; contacts will see a new security code.`,
  portalClosedByLogout: (network: string) => `This chat was closed: its Matrix user logged out of ${network} through the bridge.`,

  chatReady: (who: string, roomId: string) => `Chat with ${who} is ready: https://matrix.to/#/${roomId} (you have been invited).`,
  connected: (network: string, since: string, pending: number) =>
    `Bridge is connected to ${network} since ${since}. Messages waiting to be sent: ${pending}.`,
  disconnected: (network: string, since: string, pending: number) =>
    `Bridge is NOT connected to ${network} (since ${since}); messages are queued and will be sent when it is back. Messages waiting to be sent: ${pending}.`,
  warning: (text: string) => `⚠ ${text}`,
} as const;

function inSeconds(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s >= 90 ? inMinutes(ms) : `${s} second${s === 1 ? "" : "s"}`;
}

function inMinutes(ms: number): string {
  const m = Math.max(1, Math.ceil(ms / 60_000));
  return `${m} minute${m === 1 ? "" : "s"}`;
}
