# bucket-agent: one image for every command (render, init, sidecar, webhook, inject).
#
#   docker build -t bucket-agent .            # or: podman build -t bucket-agent .
#   docker run --rm --read-only bucket-agent render --help
#
# The bases are build arguments, defaulting to public Node 24 images; CI builds against local
# ones (scripts/build-image.sh) since no registry is reachable there.
ARG BUILD_IMAGE=docker.io/library/node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# A CA bundle for the registry's TLS when a proxy re-signs it (set only for the RUN steps, never
# part of an image): --build-arg NODE_EXTRA_CA_CERTS=/path plus a mount of that file.
ARG NODE_EXTRA_CA_CERTS
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
# Dependencies first: this layer is reused until the lockfile changes. No install scripts: the only
# one (esbuild's postinstall) just re-checks the binary its platform package already provides.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/
COPY src/ src/
# tsc, then esbuild: dist/bundle/ is self-contained (every dependency inlined, only Node builtins
# required at run time), so the runtime stage needs no node_modules.
RUN npm run build

FROM ${RUNTIME_IMAGE}
# Production files only: the bundle (with its third-party license texts) and package.json, which
# the CLI reads at ../../ from its chunks for --version. Owned by root, so the runtime user cannot
# change them even on a writable root filesystem.
COPY --from=build /src/package.json /app/package.json
COPY --from=build /src/dist/bundle/ /app/dist/bundle/
ARG RUNTIME_IMAGE
ARG VERSION=dev
ARG REVISION=unknown
# Last, so a new revision rebuilds only this metadata layer.
LABEL org.opencontainers.image.title="bucket-agent" \
      org.opencontainers.image.description="Hands Cozystack/COSI S3 bucket credentials to Kubernetes pods as ready-to-use config files for every S3 tool" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
# node is at /nodejs/bin in the distroless image and at /usr/local/bin in the official node images:
# the ENTRYPOINT finds it on PATH in either.
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_DISABLE_COMPILE_CACHE=1
# Numeric, so Kubernetes' runAsNonRoot can check it without an /etc/passwd lookup.
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/bundle/bucket-agent.js"]
CMD ["--help"]
