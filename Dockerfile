# abflow as a container: `docker build -t abflow .`, then
#   docker run --rm -v "$PWD/out:/app/out" abflow                      # the main job (plans/payments.yaml)
#   docker run --rm -v "$PWD/plans:/app/plans" abflow run plans/x.yaml  # any plan
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
ENTRYPOINT ["node", "dist/engine/cli.js"]
CMD ["run", "plans/payments.yaml"]
