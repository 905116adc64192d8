// Prints an appservice registration that fits the test config (bot @whatsappbot, puppets @wa_{digits}), for a
// Synapse of your own that the tests then use through MDB_TEST_SYNAPSE_*; see test/harness/README.md.
// Usage: node dist/test/harness/print-registration.js [--domain localhost] [--port 29340] [--host 127.0.0.1]
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { generateRegistration, renderRegistration } from "../../src/config/registration.js";
import { makeTestConfig } from "./config.js";

const { values } = parseArgs({
  options: {
    domain: { type: "string", default: "localhost" },
    port: { type: "string", default: "29340" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`--port must be a TCP port number (1-65535), got ${JSON.stringify(values.port)}`);
  process.exit(2);
}
const dataDir = mkdtempSync(path.join(os.tmpdir(), "mdb-registration-"));
try {
  const config = makeTestConfig({
    homeserverUrl: "http://127.0.0.1:8008",
    domain: values.domain,
    appservicePort: port,
    registrationPath: path.join(dataDir, "registration.yaml"),
    dataDir,
    // The homeserver must reach the bridge under test at this URL (e.g. host.docker.internal from Docker).
    overrides: { appservice: { url: `http://${values.host}:${port}` } },
  });
  process.stdout.write(renderRegistration(generateRegistration(config)));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
