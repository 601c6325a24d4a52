import { randomBytes, randomInt } from 'node:crypto';

/** An S3 key pair as SeaweedFS, COSI's BucketInfo and every S3 client know it. */
export interface S3Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** 20 upper-case alphanumerics, the shape of AWS and SeaweedFS access key ids. */
export function randomAccessKeyId(): string {
  let out = '';
  for (let i = 0; i < 20; i++) out += ACCESS_KEY_ALPHABET[randomInt(ACCESS_KEY_ALPHABET.length)];
  return out;
}

/**
 * 40 base64 characters like a real secret key, always holding a `/` and a `+`: those are the
 * characters that break naive escaping in URLs, INI files and shell env files, so every test
 * that uses a generated key exercises them instead of passing by luck.
 */
export function randomSecretAccessKey(): string {
  const chars = randomBytes(30).toString('base64').split('');
  const slash = randomInt(chars.length);
  const plus = (slash + 1 + randomInt(chars.length - 1)) % chars.length;
  chars[slash] = '/';
  chars[plus] = '+';
  return chars.join('');
}

export function randomKeys(): S3Keys {
  return { accessKeyId: randomAccessKeyId(), secretAccessKey: randomSecretAccessKey() };
}
