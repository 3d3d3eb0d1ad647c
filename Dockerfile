# abflow as a container: `docker build -t abflow .`, then
#   docker run -p 8080:8080 -p 50051:50051 -e ABFLOW_API_TOKEN=… abflow   # the service (HTTP, gRPC, /dashboard)
#   docker run --rm --no-healthcheck -v "$PWD/out:/app/out" abflow run plans/payments.yaml   # one job, then exit
# Secrets (API keys, database URLs) come from the environment (`-e OPENAI_API_KEY=…`), never from plan files.

# --- build: compile TypeScript to dist/ with the dev dependencies -------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY engine ./engine
COPY operators ./operators
COPY connectors ./connectors
COPY native-bench ./native-bench
# `npm ci` runs `prepare`, which builds dist/.
RUN npm ci --no-audit --no-fund

# --- runtime: production dependencies and the built code only, as a non-root user --------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: no build step here (dist/ is copied), and onnxruntime-node's CUDA download is skipped.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY plans ./plans
COPY models ./models
COPY proto ./proto
RUN mkdir -p out && chown node:node out
USER node
EXPOSE 8080 50051
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/engine/cli.js"]
# The service; plans are submitted over the API, or mounted at /app/jobs and started with `--plans jobs`.
CMD ["serve", "--host", "0.0.0.0"]
