// The bridge's layering, checked by `npm run check:deps` (and at the end of `npm test`).
//   core      network-neutral bridging logic: talks to everything else through the ports it defines
//   networks  one folder per remote network (WhatsApp ...): no runtime, no Matrix, no storage engine
//   matrix    a Matrix client/appservice library: knows nothing of the bridge
//   protocol  the interop wire protocol and Signal sessions: knows nothing of the bridge
//   gatekeeper the reference gatekeeper (a separate program): shares only protocol, sql and utilities
//   sql       the database interface and its engines (SQLite, PostgreSQL): knows nothing of what is stored
//   app       the runtime that wires all of the above together (the only place allowed to)
// Today's violations inside src/core are listed in .dependency-cruiser-known-violations.json (`--ignore-known`);
// that list only ever shrinks. TypeScript 7 has no JS API, so sources are parsed with swc.
const STORE_ENGINE = ["^src/store/database\\.ts$", "^src/sql/engines/", "^node_modules/(better-sqlite3|pg)/", "^(better-sqlite3|pg)$"];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle means two modules are one module in two files: split out what both need.",
      from: {},
      to: { circular: true },
    },
    {
      name: "src-not-to-test",
      severity: "error",
      comment: "What ships (src/) never depends on tests or benchmarks.",
      from: { path: "^src/" },
      to: { path: "^(test|bench|demo)/" },
    },
    {
      name: "core-not-to-adapters",
      severity: "error",
      comment: "The core is network- and Matrix-neutral: it defines ports, the adapters implement them.",
      from: { path: "^src/core/" },
      to: { path: "^src/(matrix|interop|networks|app|gatekeeper|protocol)/" },
    },
    {
      name: "core-not-to-store-engine",
      severity: "error",
      comment: "The core does not know there is SQLite underneath.",
      from: { path: "^src/core/" },
      to: { path: STORE_ENGINE },
    },
    {
      name: "core-store-types-only",
      severity: "error",
      comment: "The core may name the store's types (until the store becomes a port), not run its code.",
      from: { path: "^src/core/" },
      to: { path: "^src/store/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "networks-not-to-runtime",
      severity: "error",
      comment: "A network module translates; wiring, Matrix and storage belong to the runtime.",
      from: { path: "^src/networks/" },
      to: { path: ["^src/(app|matrix)/", ...STORE_ENGINE] },
    },
    {
      name: "matrix-is-a-library",
      severity: "error",
      comment: "src/matrix is a Matrix library: the bridge's core, store, runtime and networks are its users.",
      from: { path: "^src/matrix/" },
      to: { path: "^src/(core|store|app|networks)/" },
    },
    {
      name: "protocol-is-a-library",
      severity: "error",
      comment: "The interop protocol is shared with the gatekeeper: it knows nothing of the bridge.",
      from: { path: "^src/protocol/" },
      to: { path: "^src/(core|matrix|interop|app|store|gatekeeper|networks|config)/" },
    },
    {
      name: "gatekeeper-is-separate",
      severity: "error",
      comment: "The reference gatekeeper is another program: it shares the protocol, never the bridge.",
      from: { path: "^src/gatekeeper/" },
      to: { path: "^src/(core|app|matrix|networks|store)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|vendor)/" },
    parser: "swc",
    // Type-only imports count: a type from another layer is a dependency on it all the same.
    tsPreCompilationDeps: true,
    // NodeNext style: `./x.js` in a source file means `./x.ts`.
    enhancedResolveOptions: {
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
  },
};
