# One image for every process of the backbone: the API (default), the
# Temporal worker (`npm run worker`) and the database migrations
# (`npm run migrate`). TypeScript runs directly through tsx (a regular
# dependency), so there is no build stage.
FROM node:20-bookworm-slim

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

USER node

EXPOSE 3000

CMD ["npm", "run", "api"]
