# Trustline operator image. Build: docker build -t ghcr.io/trustline/trustline:0.1.0 .
# Stage 1 compiles TypeScript with the dev toolchain; stage 2 installs production dependencies only;
# the final stage holds those and dist/, runs as a numeric non-root user, and has no npm.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:24-slim
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
# The `node` user of the base image; numeric so that the kubelet can check runAsNonRoot.
USER 1000:1000
# Metrics (HTTPS, bearer token) and probes (plain HTTP).
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/main.js"]
