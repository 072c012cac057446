# The router image: `caravan-router` (ENTRYPOINT) and the `caravan` CLI on Node 20, run as the non-root user
# caravan (uid/gid 10001, the ids deploy/kubernetes/namespace-install.yaml runs the pod as).
#   docker build -t caravan/router:0.1.0 .

# --- build: all dependencies, compile, then drop the development ones ---
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

# --- runtime: the compiled code, the production dependencies, nothing else ---
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /opt/caravan
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/console ./dist/console
RUN groupadd --gid 10001 caravan \
  && useradd --uid 10001 --gid caravan --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin caravan \
  && ln -s /opt/caravan/bin/caravan-router.js /usr/local/bin/caravan-router \
  && ln -s /opt/caravan/bin/caravan.js /usr/local/bin/caravan
USER 10001:10001
ENTRYPOINT ["caravan-router"]
