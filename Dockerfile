# One image for every process of the backbone: the API (default command), the
# Temporal worker and the database migrations. TypeScript runs directly through
# tsx (a regular dependency), so there is no build stage. Each process starts
# as `node --import tsx bin/<name>.ts`: node itself receives SIGTERM and drains,
# with no npm or shell in between. Under Compose `init: true` puts a small init
# in front as PID 1; with plain `docker run`, pass `--init`.
FROM node:24-trixie-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, so source edits do not invalidate this layer.
# Production dependencies only: tsx, the Temporal SDK and its native core
# bridge all come from package-lock.json; no compiler is needed.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
    && npm cache clean --force

# Application source (see .dockerignore for what stays out). The files stay
# owned by root, so the runtime user can read but not modify them.
COPY . .

# The image's unprivileged `node` user (uid 1000) runs every process.
USER node

EXPOSE 3000

CMD ["node", "--import", "tsx", "bin/api.ts"]
