/**
 * Which proxy a request to the apiserver goes through, decided as kubectl decides it: the cluster's
 * `proxy-url` when set (client-go `http.ProxyURL`: every request, loopback included), else the
 * environment as Go's `http.ProxyFromEnvironment` reads it (golang.org/x/net/http/httpproxy):
 * HTTPS_PROXY / HTTP_PROXY by the server's scheme, upper case before lower case, NO_PROXY's
 * entries, and never for localhost or a loopback address. Pure: src/config/ reads the variables.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** The raw variables, as src/config/ found them (empty when unset). */
export interface ProxyEnvironment {
  readonly httpProxy: string;
  readonly httpsProxy: string;
  readonly noProxy: string;
  /** REQUEST_METHOD is set: Go then refuses HTTP_PROXY (httpoxy, golang.org/s/cgihttpproxy). */
  readonly cgi: boolean;
}

export const NO_PROXY_ENVIRONMENT: ProxyEnvironment = { httpProxy: '', httpsProxy: '', noProxy: '', cgi: false };

/**
 * The proxy the environment gives for `server`, or undefined for a direct connection. A value
 * Go cannot parse is ignored, as Go ignores it (no proxy).
 */
export function proxyFromEnvironment(env: ProxyEnvironment, server: URL): URL | undefined {
  const raw = server.protocol === 'https:' ? env.httpsProxy : server.protocol === 'http:' && !env.cgi ? env.httpProxy : '';
  const proxy = parseEnvProxy(raw);
  if (proxy === undefined) return undefined;
  return useProxy(parseNoProxy(env.noProxy), server) ? proxy : undefined;
}

/** As httpproxy.parseProxy: a value without a known scheme (`proxy:3128`) is tried as http://. */
export function parseEnvProxy(raw: string): URL | undefined {
  if (raw === '') return undefined;
  const direct = tryUrl(raw);
  if (direct !== undefined && ['http:', 'https:', 'socks5:'].includes(direct.protocol) && direct.host !== '') return direct;
  const prefixed = tryUrl(`http://${raw}`);
  return prefixed?.host === '' ? undefined : (prefixed ?? direct);
}

type Matcher =
  | { readonly kind: 'all' }
  | { readonly kind: 'cidr'; readonly family: 4 | 6; readonly network: bigint; readonly bits: number }
  | { readonly kind: 'ip'; readonly ip: bigint; readonly family: 4 | 6; readonly port: string }
  | { readonly kind: 'domain'; readonly suffix: string; readonly port: string; readonly matchHost: boolean };

/** NO_PROXY's entries as httpproxy's config.init reads them; malformed ones are skipped, as there. */
export function parseNoProxy(noProxy: string): Matcher[] {
  const matchers: Matcher[] = [];
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return [{ kind: 'all' }];
    const matcher = cidrMatcher(entry) ?? hostMatcher(entry);
    if (matcher !== undefined) matchers.push(matcher);
  }
  return matchers;
}

/** httpproxy's useProxy: false for localhost, loopback addresses and NO_PROXY matches. */
export function useProxy(matchers: readonly Matcher[], server: URL): boolean {
  const host = unbracket(server.hostname.toLowerCase());
  const port = server.port !== '' ? server.port : server.protocol === 'https:' ? '443' : '80';
  if (host === 'localhost') return false;
  const ip = parseIp(host);
  if (ip !== undefined && isLoopback(ip)) return false;
  return !matchers.some((matcher) => matches(matcher, host, port, ip));
}

function matches(matcher: Matcher, host: string, port: string, ip: ParsedIp | undefined): boolean {
  if (matcher.kind === 'all') return true;
  if (matcher.kind === 'domain') return domainMatches(matcher, host) && portMatches(matcher.port, port);
  if (ip === undefined || ip.family !== matcher.family) return false;
  if (matcher.kind === 'cidr') return ip.value >> BigInt(width(ip.family) - matcher.bits) === matcher.network;
  return ip.value === matcher.ip && portMatches(matcher.port, port);
}

/** As Go, also for an IP host: `0.0.1` matches 10.0.0.1 (a suffix match on the text). */
function domainMatches(matcher: { readonly suffix: string; readonly matchHost: boolean }, host: string): boolean {
  return host.endsWith(matcher.suffix) || (matcher.matchHost && host === matcher.suffix.slice(1));
}

function portMatches(wanted: string, port: string): boolean {
  return wanted === '' || wanted === port;
}

function cidrMatcher(entry: string): Matcher | undefined {
  const slash = entry.indexOf('/');
  if (slash === -1) return undefined;
  const ip = parseIp(entry.slice(0, slash));
  const bitsText = entry.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(bitsText) || Number(bitsText) > width(ip.family)) return undefined;
  const bits = Number(bitsText);
  return { kind: 'cidr', family: ip.family, network: ip.value >> BigInt(width(ip.family) - bits), bits };
}

function hostMatcher(entry: string): Matcher | undefined {
  const { host, port } = splitHostPort(entry);
  if (host === '') return undefined;
  const ip = parseIp(host);
  if (ip !== undefined) return { kind: 'ip', ip: ip.value, family: ip.family, port };
  let suffix = host.startsWith('*.') ? host.slice(1) : host;
  const matchHost = !suffix.startsWith('.');
  if (matchHost) suffix = `.${suffix}`;
  // Go converts a non-ASCII entry to IDNA ASCII (the URL's host already is); an ASCII one stays as
  // it is: WHATWG's domainToASCII would also rewrite `0.0.1` as the address 0.0.0.1.
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(suffix) ? suffix.slice(1) : domainToASCII(suffix.slice(1));
  return { kind: 'domain', suffix: ascii === '' ? suffix : `.${ascii}`, port, matchHost };
}

/** net.SplitHostPort's outcome for a NO_PROXY entry: `host:port`, `[v6]:port`, else all host. */
function splitHostPort(entry: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]*)\]:(\d*)$/.exec(entry);
  if (bracketed !== null) return { host: bracketed[1] ?? '', port: bracketed[2] ?? '' };
  const colon = entry.lastIndexOf(':');
  if (colon !== -1 && entry.indexOf(':') === colon && !entry.includes('['))
    return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
  return { host: entry, port: '' };
}

interface ParsedIp {
  readonly family: 4 | 6;
  readonly value: bigint;
}

const width = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/** An address as a number; an IPv4-mapped IPv6 address is IPv4, as Go's To4() makes it. */
function parseIp(text: string): ParsedIp | undefined {
  const host = unbracket(text);
  const family = isIP(host);
  if (family === 4) return { family: 4, value: host.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  if (family !== 6) return undefined;
  const value = ipv6Value(host);
  return value >> 32n === 0xffffn ? { family: 4, value: value & 0xffffffffn } : { family: 6, value };
}

function ipv6Value(host: string): bigint {
  // A trailing dotted quad (`::ffff:1.2.3.4`) is two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  const text = dotted === null ? host : `${dotted[1] ?? ''}${quadToGroups(dotted[2] ?? '')}`;
  const [head = '', tail] = text.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function quadToGroups(quad: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = quad.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function isLoopback(ip: ParsedIp): boolean {
  return ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function tryUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
