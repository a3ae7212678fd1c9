# One image for every ficus process: the monolith, `ficus db migrate`, the router and the
# extracted services; docker-compose.yml picks the command.

# Build: the development dependencies compile the TypeScript sources to dist/ (tsc needs no install scripts).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY platform ./platform
COPY monolith ./monolith
COPY services ./services
COPY router ./router
COPY tools ./tools
RUN npm run build

# Runtime: the built JavaScript and the production dependencies only (no TypeScript, no tsx).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/services ./services
# The ficus command runs dist/tools/src/cli.js here: the image holds no tools/src.
COPY tools/bin ./tools/bin
# The route table and local flags file the router reads by default (ROUTES_FILE, FLAGS_FILE).
COPY router/routes.yaml router/flags.json ./router/
USER node
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
CMD ["node", "dist/monolith/src/server.js"]
