/**
 * `--listen` / `--credentials-listen` values: `HOST:PORT`, IPv6 in brackets (`[::]:8080`,
 * `[::1]:9911`), or `:PORT` for every interface (Node's own choice: `::` dual stack where the
 * kernel has IPv6, else 0.0.0.0). Pure: no lookup, no socket.
 *
 *   parseListen(text, flag): ListenAddress          -> UsageError naming the flag
 *   parseLoopbackListen(text, flag): ListenAddress  -> also refuses a non-loopback host
 *   isLoopbackHost(host): boolean
 */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export interface ListenAddress {
  /** An IP literal (IPv6 without brackets) or a host name; undefined = every interface. */
  readonly host: string | undefined;
  /** 0 = any free port (tests). */
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function parseListen(text: string, flag: string): ListenAddress {
  const value = text.trim();
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(value);
  if (bracketed !== null) {
    const host = bracketed[1] ?? '';
    if (isIP(host) !== 6) throw new UsageError(`--${flag}: "${text}": [${host}] is not an IPv6 address`);
    return Object.freeze({ host, port: parsePort(bracketed[2] ?? '', text, flag) });
  }
  const colon = value.lastIndexOf(':');
  if (colon < 0) throw new UsageError(`--${flag}: "${text}" is not HOST:PORT (e.g. 0.0.0.0:8080, [::]:8080, :8080)`);
  const host = value.slice(0, colon);
  if (host.includes(':')) throw new UsageError(`--${flag}: "${text}": put an IPv6 address in brackets, e.g. [::1]:8080`);
  const port = parsePort(value.slice(colon + 1), text, flag);
  if (host === '') return Object.freeze({ host: undefined, port });
  if (isIP(host) !== 4 && !HOSTNAME.test(host)) throw new UsageError(`--${flag}: "${text}": "${host}" is not an IP address or host name`);
  return Object.freeze({ host, port });
}

/** For `--credentials-listen`: the AWS SDKs accept plain http only to loopback, so nothing else is served. */
export function parseLoopbackListen(text: string, flag: string): ListenAddress {
  const address = parseListen(text, flag);
  if (address.host === undefined || !isLoopbackHost(address.host)) {
    throw new UsageError(`--${flag}: "${text}" is not a loopback address: use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT`);
  }
  return address;
}

/**
 * The hosts AWS SDKs allow over plain http (DESIGN.md "AWS container credentials"): 127.0.0.0/8,
 * ::1 and localhost; an IPv4-mapped 127.x address is the same socket.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6)
    return (
      expandIPv6(bare)
        .map((group) => parseInt(group, 16))
        .join(':') === '0:0:0:0:0:0:0:1'
    );
  return false;
}

/** `::1` -> the 8 groups, enough to compare with the loopback address in any spelling. */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right];
}

function parsePort(text: string, whole: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--${flag}: "${whole}": "${text}" is not a port (0-65535)`);
  return Number(text);
}
