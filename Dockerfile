# One image for every ficus process: the monolith, `ficus db migrate`, and (later) the router
# and extracted services; docker-compose.yml picks the command.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY platform ./platform
COPY monolith ./monolith
COPY router ./router
COPY tools ./tools
COPY tsconfig.json ./
USER node
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
CMD ["node", "--import", "tsx", "monolith/src/server.ts"]
