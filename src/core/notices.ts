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
  givenUpOutgoing: (why: string) => `⚠ Not delivered. ${why}`,
  earlyUnreadable: (count: number, who: string) =>
    `⚠ ${count === 1 ? "A message" : `${count} messages`} you sent before ${who} joined this chat could not be read: ${count === 1 ? "it was" : "they were"} encrypted before the bridge could receive the key. Please send ${count === 1 ? "it" : "them"} again.`,
  outage: (network: string) =>
    `⏳ ${network} cannot be reached right now. Your messages are kept and will be sent automatically when the connection is back.`,

  identityChanged: (who: string, network: string) =>
    `🔐 The security code of ${who} changed (new phone or reinstalled ${network}). Messages stay end-to-end encrypted.`,
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
