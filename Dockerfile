# One image for every Jielong process; docker-compose.yml picks the command per service.
# Node 22: every dependency declares it (pg-boss 12 and a few others declare >= 22; Node 20.19+ runs them too, see README).
FROM node:22-bookworm-slim
WORKDIR /app
# gcc and OpenBLAS build the native training kernels at install (packages/ml/native).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev libopenblas-dev \
  && rm -rf /var/lib/apt/lists/*

# Dependencies first (cached until a package.json or the lock changes). The root postinstall
# runs `prisma generate`, which needs the schema and the schema-engine shim, and builds the native kernels.
COPY package.json package-lock.json prisma.config.ts ./
COPY packages/shared/package.json packages/shared/
COPY packages/db/package.json packages/db/
COPY packages/db/bin packages/db/bin
COPY packages/ml/package.json packages/ml/
COPY packages/ml/native packages/ml/native
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/web/package.json apps/web/
COPY scripts/prisma.mjs scripts/
COPY prisma prisma
# The native kernels compile for this CPU level, not the build host's (-march=native), so the image runs elsewhere.
ARG JIELONG_NATIVE_MARCH=x86-64-v2
RUN JIELONG_NATIVE_MARCH=$JIELONG_NATIVE_MARCH npm ci --no-audit --no-fund

COPY . .
# Next bakes its rewrites (/v1 and /docs → the API) into the build.
ARG API_URL=http://api:3001
ENV API_URL=$API_URL
RUN npm run build -w @jielong/web

ENV NODE_ENV=production JIELONG_DATA_DIR=/data
EXPOSE 3000 3001
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
