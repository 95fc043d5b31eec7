# One image for the API and both workers; the command picks the role.
# Production-like only: the local stack (scripts/stack) is how CI and newcomers run the system.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/prisma/migrate.sh generate && npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
WORKDIR /app
# softhsm2 stands in for the HSM in this image; point PKCS11_MODULE at a vendor library in production.
RUN apt-get update && apt-get install -y --no-install-recommends softhsm2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
COPY ops/docker/entrypoint.sh /usr/local/bin/saludtech-entrypoint
ENV NODE_ENV=production HOST=0.0.0.0
ENTRYPOINT ["saludtech-entrypoint"]
CMD ["api"]
