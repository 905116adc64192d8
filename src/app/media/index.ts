// Media both ways, wired from the configuration: the runtime builds one MediaBridge and hands it to the core.
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import type { BridgeConfig } from "../../config/schema.js";
import type { InteropClient } from "../../interop/client.js";
import type { MatrixClient } from "../../matrix/client.js";
import { GatekeeperMedia } from "./gatekeeper-media.js";
import { ensurePrivateDir } from "../../util/private-files.js";
import { MediaBridge } from "./media-bridge.js";

export { MediaBridge, type MediaBridgeOptions } from "./media-bridge.js";

export function mediaBridgeFor(config: BridgeConfig, client: MatrixClient, botUserId: string, interop: InteropClient, log: Logger): MediaBridge {
  // Next to the database rather than in /tmp: on the disk the operator chose for the bridge's data, and private to it.
  const spoolDir = config.database.path === ":memory:" ? undefined : join(dirname(config.database.path), "media-spool");
  if (spoolDir) ensurePrivateDir(spoolDir);
  return new MediaBridge({
    client,
    botUserId,
    gatekeeper: new GatekeeperMedia({ baseUrl: config.gatekeeper.url, api: interop.api, tokens: interop.tokens }),
    maxBytes: Math.floor(config.bridge.max_media_size_mb * 1024 * 1024),
    networkName: config.bridge.network_name,
    log,
    ...(spoolDir ? { spoolDir } : {}),
  });
}
