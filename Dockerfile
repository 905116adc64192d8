# matrix-dma-bridge container: the bridge only (the reference gatekeeper and Synapse are for tests and the demo).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Empty stand-ins for indexeddbshim's canvas and sqlite3 dependencies (never loaded; see package.json overrides).
COPY vendor ./vendor
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
# Only src/ ships: nothing in it imports test/, bench/ or demo/ (npm run check:deps holds that).
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /opt/matrix-dma-bridge
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/vendor ./vendor
COPY --from=build /src/dist/src ./dist/src
COPY config.sample.yaml LICENSE README.md ./
# Config, registration, provider key and the SQLite database live in the /data volume.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
WORKDIR /data
EXPOSE 29340
USER node
ENTRYPOINT ["node", "/opt/matrix-dma-bridge/dist/src/cli/main.js"]
CMD ["start", "-c", "/data/config.yaml"]
