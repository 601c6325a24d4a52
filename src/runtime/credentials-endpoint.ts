/**
 * The AWS container-credentials endpoint (`--credentials-listen`, DESIGN.md "Sidecar contract"):
 * an SDK given AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:<port>/v1/credentials/<alias>
 * and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=<out>/aws/container-token fetches the current keys
 * here, and fetches again before the Expiration we give, so it follows rotations by itself.
 *
 *   generateToken(): string                                     64 hex chars (32 random bytes)
 *   startCredentialsEndpoint(options): Promise<RunningServer>   ({address, url, close()})
 *   credentialsExpiration(nowMs, policy): string                ISO 8601, no milliseconds
 *
 * Answers: 200 `{"AccessKeyId","SecretAccessKey","Token":"","Expiration"}` (all strings: the JS SDK
 * v3 refuses anything else); 401 without an Authorization header, 403 with a wrong one (checked
 * before the alias, so a caller without the token learns nothing about aliases); 404 for an unknown
 * alias or path; 405 for a method other than GET. Error bodies are `{"Code","Message"}`, which the
 * JS SDK surfaces. Nothing about the token or the keys is logged: only alias and status, at debug.
 *
 * Write the token file WITHOUT a trailing newline: botocore (aws CLI 1.45) refuses the header
 * ("Auth token value is not a legal header value") and we compare exactly.
 *
 * Expiration policy. SDKs treat credentials as expiring some time before `Expiration` and fetch
 * again then: JS v3 5 min (@smithy/core EXPIRATION_MS, credential-provider-node), botocore 15 min
 * advisory / 10 min mandatory, Go v1/v2 and rclone 0 by default. No single value makes all of them
 * re-fetch every N seconds, so the window is a setting and the default is JS v3's:
 * `Expiration = now + refreshWindow (300 s) + refetchAfter (60 s)`, so that
 *   - JS v3 re-fetches every ~60 s (a rotation reaches it within a minute);
 *   - botocore (boto3, aws CLI) is inside its 10 min mandatory window and fetches before every API
 *     call: new keys at once, one loopback GET per call (in-memory here, well under a millisecond);
 *   - Go SDKs, rclone and velero re-fetch every 6 min.
 * With refreshWindow = 900 s botocore re-fetches every refetchAfter instead, and JS v3 every
 * 10 min + refetchAfter. Keys that were just rotated make no difference to the value: the SDK cache
 * is on the app's side and cannot be pushed to, only shortened.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isLoopbackHost, type ListenAddress } from '../config/listen.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { listen, send, type RunningServer, type ServerLimits } from './http-server.js';
import type { CredentialsCode } from './metrics.js';

export interface ServedKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface ExpirationPolicy {
  /** How long before Expiration the SDK in the app re-fetches (JS v3: 300, botocore: 900). */
  readonly refreshWindowSeconds: number;
  /** How soon after a fetch that SDK should fetch again. */
  readonly refetchAfterSeconds: number;
}

export const DEFAULT_EXPIRATION_POLICY: ExpirationPolicy = Object.freeze({ refreshWindowSeconds: 300, refetchAfterSeconds: 60 });

export interface CredentialsEndpointOptions {
  /** Loopback only: refused with a UsageError otherwise (parseLoopbackListen checks it first). */
  readonly listen: ListenAddress;
  /** The content of `<out>/aws/container-token` (generateToken()). */
  readonly token: string;
  /** The current keys of an alias, or undefined for an alias this sidecar does not serve (yet). */
  lookup(alias: string): ServedKeys | undefined;
  readonly log: Logger;
  readonly expiration?: ExpirationPolicy;
  /** Each answer's status, for metrics.credentialsRequests. */
  onAnswer?(code: CredentialsCode): void;
  readonly now?: () => number;
  readonly limits?: Partial<ServerLimits>;
}

const PATH = /^\/v1\/credentials\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;

export function generateToken(): string {
  return randomBytes(32).toString('hex');
}

export function credentialsExpiration(nowMs: number, policy: ExpirationPolicy = DEFAULT_EXPIRATION_POLICY): string {
  const at = nowMs + (policy.refreshWindowSeconds + policy.refetchAfterSeconds) * 1000;
  return new Date(Math.ceil(at / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export async function startCredentialsEndpoint(options: CredentialsEndpointOptions): Promise<RunningServer> {
  if (options.listen.host === undefined || !isLoopbackHost(options.listen.host)) {
    throw new UsageError(
      `--credentials-listen: ${options.listen.host ?? 'every interface'} is not a loopback address; the AWS SDKs accept plain http only to 127.0.0.0/8, [::1] and localhost`,
    );
  }
  if (options.token.length < 32) throw new UsageError('credentials endpoint: the token is too short (use generateToken())');
  const log = options.log.child({ component: 'credentials-endpoint' });
  const expected = digest(options.token);
  const server = await listen(
    (request, response) => {
      const code = answer(request, response, options, expected);
      options.onAnswer?.(code);
      log.debug({ status: Number(code), path: PATH.test(pathOf(request)) ? pathOf(request) : 'other' }, 'credentials request');
    },
    options.listen,
    options.limits,
  );
  log.info({ url: `${server.url}/v1/credentials/<alias>` }, 'serving AWS container credentials');
  return server;
}

function answer(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  options: CredentialsEndpointOptions,
  expected: Buffer,
): CredentialsCode {
  const match = PATH.exec(pathOf(request));
  if (match?.[1] === undefined) return fail(response, '404', 'NotFound', 'use GET /v1/credentials/<alias>');
  if (request.method !== 'GET') {
    response.setHeader('allow', 'GET');
    return fail(response, '405', 'MethodNotAllowed', 'use GET');
  }
  const given = request.headers.authorization;
  if (given === undefined || given === '')
    return fail(response, '401', 'Unauthorized', 'send the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as Authorization');
  if (!timingSafeEqual(digest(given), expected)) return fail(response, '403', 'AccessDenied', 'wrong token');
  let keys: ServedKeys | undefined;
  try {
    keys = options.lookup(match[1]);
  } catch {
    return fail(response, '500', 'InternalError', 'the sidecar could not look up the keys; see its log');
  }
  if (keys === undefined) return fail(response, '404', 'NotFound', `no credentials for alias ${match[1]}`);
  const body = JSON.stringify({
    AccessKeyId: keys.accessKeyId,
    SecretAccessKey: keys.secretAccessKey,
    Token: '',
    Expiration: credentialsExpiration((options.now ?? Date.now)(), options.expiration),
  });
  send(response, 200, body, { 'content-type': 'application/json' });
  return '200';
}

function fail(response: http.ServerResponse, code: CredentialsCode, awsCode: string, message: string): CredentialsCode {
  send(response, Number(code), JSON.stringify({ Code: awsCode, Message: message }), { 'content-type': 'application/json' });
  return code;
}

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function pathOf(request: http.IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
