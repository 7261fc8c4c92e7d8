# One image for every Trellis role: `trellis up`, `controlplane`, `console`, `proxy`, and the demo's parts
# (`demo app|traffic|seed`, see docker-compose.yml's demo profile).
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
COPY . .
RUN npm ci && npx turbo run build --filter=@trellis/cli --filter=@trellis/web && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
COPY --from=build /app /app
# /var/lib/trellis is where the demo's join token is shared (a named volume takes this directory's owner).
RUN useradd --system --uid 10001 trellis && mkdir -p /home/trellis /var/lib/trellis \
    && chown trellis /home/trellis /var/lib/trellis
USER trellis
ENV HOME=/home/trellis
ENTRYPOINT ["node", "/app/packages/cli/bin/trellis.js"]
CMD ["up", "--host", "0.0.0.0"]
