#!/bin/sh
# Runs inside the minbase (runtime-base.Containerfile): completes ROOT, which holds
# nodejs/bin/node, into a distroless-like root filesystem.
set -eu
root="$1"
node="$root/nodejs/bin/node"
# The loader and every shared library node links, at the paths ldd resolves them to.
for lib in $(ldd "$node" | sed -n -e 's|.*=> \(/[^ ]*\) .*|\1|p' -e 's|^[[:space:]]*\(/[^ ]*\) .*|\1|p'); do
  cp --parents -L "$lib" "$root/"
done
mkdir -p "$root/etc" "$root/tmp" "$root/home/nonroot" "$root/root"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
chown 65532:65532 "$root/home/nonroot"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# glibc's getaddrinfo (dns.lookup) reads it; hosts and resolv.conf come from the engine.
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
# Proof that the result runs node with nothing else present.
chroot "$root" /nodejs/bin/node -e 'process.stdout.write(`runtime base: node ${process.version}\n`)'
