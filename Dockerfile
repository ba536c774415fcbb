# syntax=docker/dockerfile:1
# One Dockerfile for every deployable of Partnerskap, one target each (README: Deploying):
#   docker build --target gateway -t partnerskap-gateway .
#   docker build --target subgraph --build-arg SUBGRAPH=plans --build-arg PORT=4003 -t partnerskap-plans .
#   docker build --target seed -t partnerskap-seed .
# The build stage bundles everything once (npm run build: dist/<name>.mjs); each runtime image
# holds one bundle as dist/main.mjs, the files it reads (schema/), and the production dependencies
# of its own workspace only. Any subgraph in schema/subgraphs.json builds with SUBGRAPH=<name>.

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund && npm run build
# The manifests npm ci needs to install one workspace's dependencies, without any source.
RUN mkdir -p /manifests && cp package.json package-lock.json /manifests/ \
 && for ws in $(node -p "require('./package.json').workspaces.join(' ')"); do mkdir -p "/manifests/$ws" && cp "$ws/package.json" "/manifests/$ws/"; done

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /manifests/ ./

# The bundles need no workspace package at run time (ours are bundled in): their links are dropped.
FROM deps AS gateway-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w gateway \
 && rm -rf node_modules/@partnerskap

FROM deps AS subgraph-deps
ARG SUBGRAPH
ARG PORT
RUN --mount=type=cache,target=/root/.npm test -n "$SUBGRAPH" -a -n "$PORT" || { echo "build the subgraph target with --build-arg SUBGRAPH=<name> --build-arg PORT=<port>" >&2; exit 1; }; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w "subgraphs/$SUBGRAPH" \
 && rm -rf node_modules/@partnerskap

FROM deps AS seed-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w subgraphs/kit \
 && rm -rf node_modules/@partnerskap

# What every runtime image shares: production mode, every interface (the container's network is
# its own), a non-root user that cannot change the code (the files stay root's), and a liveness
# check with Node's fetch (the slim image has no curl).
FROM ${NODE_IMAGE} AS base
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The one-shot demo-data loader (docker compose run --rm seed): it replaces the demo collections.
FROM base AS seed
COPY --from=seed-deps /app/node_modules ./node_modules
COPY --from=build /src/dist/seed.mjs ./dist/main.mjs
COPY --from=build /src/demo/data/ ./demo/data/
HEALTHCHECK NONE
CMD ["node", "dist/main.mjs"]

# One partner's subgraph: --build-arg SUBGRAPH=<name> (schema/subgraphs.json) PORT=<its port>.
FROM base AS subgraph
ARG SUBGRAPH
ARG PORT
COPY --from=subgraph-deps /app/node_modules ./node_modules
COPY --from=build /src/dist/${SUBGRAPH}.mjs ./dist/main.mjs
COPY --from=build /src/schema/${SUBGRAPH}.graphql ./schema/
ENV PORT=${PORT}
EXPOSE ${PORT}
# A larger young generation: the driver's decoded documents are short-lived (fewer scavenges; the bench's backend runs with it).
CMD ["node", "--max-semi-space-size=32", "dist/main.mjs"]

# The gateway (the default target), with the Node flags it is deployed with (npm run gateway):
# a larger young generation and a bounded old one.
FROM base AS gateway
COPY --from=gateway-deps /app/node_modules ./node_modules
COPY --from=build /src/dist/gateway.mjs ./dist/main.mjs
COPY --from=build /src/schema/supergraph.graphql ./schema/
COPY --from=build /src/gateway/insights/ ./gateway/insights/
COPY --from=build /src/gateway/explorer/ ./gateway/explorer/
COPY --from=build /src/operations/insights-funnel.graphql ./operations/
COPY --from=build /src/operations/manifest.json ./operations/
ENV PORT=4000
EXPOSE 4000
CMD ["node", "--max-semi-space-size=32", "--max-old-space-size=200", "dist/main.mjs"]
