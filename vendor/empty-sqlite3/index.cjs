// indexeddbshim 17 opens its databases with better-sqlite3; this package only satisfies websql-configurable's
// optional dependency.
throw new Error("sqlite3 is not available in matrix-dma-bridge (vendor/empty-sqlite3 stands in for it): nothing in the bridge should load it");
