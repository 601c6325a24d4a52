/**
 * `--tls files`: the serving pair from two files (cert-manager's Secret mounted by the kubelet),
 * reloaded without a restart (STYLE.md "reload by watching, then swapping", after vault-k8s
 * `source_disk.go`): the directories are watched before the first read, every event (the
 * kubelet's `..data` symlink swap is a rename in the mount directory) is debounced, both files
 * are read again and compared with the pair in use, and only a complete, matching, unexpired pair
 * is swapped in. A bad or half-written pair keeps the previous one, and says so.
 * A periodic re-read covers file systems whose events do not arrive.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import { loadServingPair, pairFingerprint, TlsMaterialError, type ServingCertificate } from './webhook-certificate.js';

/** cert-manager writes the Secret once; the kubelet swaps it in one rename: 200 ms sees both files new. */
export const FILES_DEBOUNCE_MS = 200;
export const FILES_REREAD_MS = 60_000;

export interface FileCertificatesOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly log: Logger;
  onCertificate(certificate: ServingCertificate): void;
  onRejected(err: TlsMaterialError): void;
  readonly debounceMs?: number;
  readonly rereadMs?: number;
}

export interface CertificateSource {
  close(): Promise<void>;
}

export function startFileCertificates(options: FileCertificatesOptions): CertificateSource {
  const log = options.log.child({ component: 'webhook-tls' });
  let current: string | undefined;
  let lastRefused: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reading = Promise.resolve();
  const read = async (): Promise<void> => {
    const pair = await readPair(options);
    if (pair === undefined) return;
    const fingerprint = pairFingerprint(pair.cert, pair.key);
    if (fingerprint === current || fingerprint === lastRefused) return;
    try {
      const loaded = loadServingPair(pair.cert, pair.key);
      current = fingerprint;
      lastRefused = undefined;
      options.onCertificate(loaded);
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      lastRefused = fingerprint;
      log.warn(
        `${options.certFile} / ${options.keyFile} refused, ${current === undefined ? 'no certificate yet' : 'keeping the previous pair'}: ${err.message}`,
      );
      options.onRejected(err);
    }
  };
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      reading = reading
        .then(read)
        .catch((err: unknown) => log.warn({ error: err instanceof Error ? err.name : typeof err }, 'reading the pair failed'));
    }, options.debounceMs ?? FILES_DEBOUNCE_MS);
  };
  const watchers: FSWatcher[] = [...new Set([dirname(options.certFile), dirname(options.keyFile)])].map((dir) => {
    const watcher = watch(dir, { persistent: false }, schedule);
    watcher.on('error', (err) =>
      log.warn({ error: err.name, dir }, 'watching the certificate directory failed; the periodic re-read continues'),
    );
    return watcher;
  });
  const reread = setInterval(schedule, options.rereadMs ?? FILES_REREAD_MS);
  reread.unref();
  schedule();
  return {
    close: async () => {
      clearInterval(reread);
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      await reading;
    },
  };
}

/** Both files, or undefined (with a log line) while one is missing: cert-manager may not have issued yet. */
async function readPair(options: FileCertificatesOptions): Promise<{ cert: string; key: string } | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(options.certFile, 'utf8'), readFile(options.keyFile, 'utf8')]);
    return { cert, key };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    options.log.warn({ code }, `cannot read ${options.certFile} / ${options.keyFile} (${code}); waiting for them`);
    return undefined;
  }
}
