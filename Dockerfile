# abflow images. Targets:
#   runtime (default)  `abflow run|serve ...` as a non-root user; plans and data are mounted under /work
#   airbyte            abflow as an Airbyte destination (spec | check | write), the way the platform runs connectors
# Build:  docker build -t abflow .            docker build --target airbyte -t abflow/destination-abflow .

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json ./
# `prepare` would build before the sources are copied: install first, build after.
RUN npm ci --ignore-scripts
COPY engine ./engine
COPY operators ./operators
COPY connectors ./connectors
COPY native-bench ./native-bench
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY plans ./plans
RUN ln -s /app/dist/engine/cli.js /usr/local/bin/abflow && mkdir -p /work && chown node:node /work
USER node
WORKDIR /work
ENTRYPOINT ["node", "/app/dist/engine/cli.js"]
CMD ["run", "/app/plans/payments.yaml"]

FROM runtime AS airbyte
USER root
# Airbyte runs connectors as user `airbyte`, mounts config and catalog under /airbyte, and finds the command here.
RUN useradd --create-home --uid 1000 --non-unique airbyte && mkdir -p /airbyte /local && chown airbyte /airbyte /local
USER airbyte
WORKDIR /airbyte
ENV AIRBYTE_ENTRYPOINT="node /app/dist/engine/cli.js airbyte"
ENTRYPOINT ["node", "/app/dist/engine/cli.js", "airbyte"]
LABEL io.airbyte.name=abflow/destination-abflow io.airbyte.version=0.1.0
