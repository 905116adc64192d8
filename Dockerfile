# matrix-dma-bridge container: the bridge only (the reference gatekeeper and Synapse are for tests and the demo).
# Build and run: docs/deploy.md. test/container/dockerfile.test.ts lints this file and checks every path it copies.
FROM node:24-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 downloads a prebuilt binary; these build it from source where none matches (another libc or CPU).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Empty stand-ins for indexeddbshim's canvas and sqlite3 dependencies (never loaded; see package.json overrides).
COPY vendor ./vendor
# sharp (stickers) needs nothing from apt: its prebuilt binary and its own libvips come as npm packages for glibc
# x64 and arm64, which this Debian base is.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
# Only src/ ships: nothing in it imports test/, bench/ or demo/ (npm run check:deps holds that).
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="matrix-dma-bridge" \
      org.opencontainers.image.description="Matrix appservice bridge to WhatsApp and other gatekeeper messengers over the EU DMA interoperability interface" \
      org.opencontainers.image.licenses="AGPL-3.0-only"
WORKDIR /opt/matrix-dma-bridge
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/vendor ./vendor
COPY --from=build /src/dist/src ./dist/src
COPY config.sample.yaml LICENSE README.md ./
# Config, registration, provider key, the SQLite database and the crypto stores live in the /data volume, owned by
# the image's unprivileged "node" user (uid 1000): the bridge refuses key files that other users can read.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME /data
WORKDIR /data
# 29340: the appservice listener (the homeserver's transactions, /health, /ready); 29341: metrics when enabled (metrics.listen).
EXPOSE 29340 29341
USER node
# Liveness only (/health): a gatekeeper outage makes the bridge not ready (/ready), and a restart would not help it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/matrix-dma-bridge/dist/src/cli/main.js", "healthcheck", "-c", "/data/config.yaml"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/matrix-dma-bridge/dist/src/cli/main.js"]
CMD ["start", "-c", "/data/config.yaml"]
