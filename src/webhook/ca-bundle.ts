/**
 * CA bundles (PEM concatenations) as the caBundle of a MutatingWebhookConfiguration and the
 * `ca.crt` of the TLS Secret hold them. Pure (node:crypto's X509Certificate parses, nothing else).
 *
 *   splitPem(text): string[]                          the certificates in a bundle, others dropped
 *   mergeCaBundle(bundles, nowMs): string             union, deduplicated by DER, expired and
 *                                                     unparseable ones dropped, oldest first
 *   bundleContains(bundle, certPem): boolean
 */
import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function splitPem(text: string): string[] {
  return [...text.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0]}\n`);
}

interface Parsed {
  readonly pem: string;
  readonly der: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

function parse(pem: string): Parsed | undefined {
  try {
    const cert = new X509Certificate(pem);
    return {
      pem: cert.toString(),
      der: cert.raw.toString('base64'),
      notBeforeMs: Date.parse(cert.validFrom),
      notAfterMs: Date.parse(cert.validTo),
    };
  } catch {
    return undefined;
  }
}

/** Every certificate of every bundle once, still valid at `nowMs`, the oldest (by notBefore) first. */
export function mergeCaBundle(bundles: readonly string[], nowMs: number): string {
  const seen = new Map<string, Parsed>();
  for (const pem of bundles.flatMap(splitPem)) {
    const parsed = parse(pem);
    if (parsed === undefined || parsed.notAfterMs <= nowMs || seen.has(parsed.der)) continue;
    seen.set(parsed.der, parsed);
  }
  return [...seen.values()]
    .sort((a, b) => a.notBeforeMs - b.notBeforeMs)
    .map((p) => p.pem)
    .join('');
}

export function bundleContains(bundle: string, certPem: string): boolean {
  const wanted = parse(certPem)?.der;
  return wanted !== undefined && splitPem(bundle).some((pem) => parse(pem)?.der === wanted);
}

/** Same certificates, whatever the order or spelling. */
export function sameBundle(a: string, b: string): boolean {
  const ders = (text: string): string[] =>
    splitPem(text)
      .map((pem) => parse(pem)?.der ?? pem)
      .sort();
  return ders(a).join('|') === ders(b).join('|');
}
