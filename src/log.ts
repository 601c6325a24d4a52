import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger };

/**
 * Object paths pino blanks out, whatever a caller passes in a log object. Secret values are never
 * logged on purpose; this is the net under that rule (tests scan every output for the keys).
 */
export const REDACT_PATHS: readonly string[] = [
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'accessKeyId',
  '*.accessKeyId',
  '*.*.accessKeyId',
  'accessKey',
  '*.accessKey',
  'secretKey',
  '*.secretKey',
  'credentials',
  '*.credentials',
  'data',
  '*.data',
  'stringData',
  '*.stringData',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
];

export interface LogOptions {
  /** One of LOG_LEVELS (src/config/common.ts). */
  readonly level: LevelWithSilent;
  /** Human-readable lines (a terminal); JSON otherwise. */
  readonly pretty: boolean;
}

/** The one root logger: JSON lines to stderr, or pretty lines when stderr is a terminal. */
export async function createLogger(options: LogOptions): Promise<Logger> {
  const destination = redacting(options.pretty ? await prettyStream() : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      level: options.level,
      base: { name: 'bucket-agent' },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** Every line passes through redactSecrets (src/redact.ts): the known key values are masked wherever they appear. */
function redacting(stream: DestinationStream): DestinationStream {
  return { write: (line: string) => stream.write(redactSecrets(line)) };
}

async function prettyStream(): Promise<DestinationStream> {
  // Loaded only for a terminal: containers log JSON and should not pay for it.
  const { default: pretty } = await import('pino-pretty');
  return pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss.l' });
}
