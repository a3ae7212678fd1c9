import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** One structured JSON logger per process; child loggers carry module names and request ids. */
export function createLogger(options: { level: string; name: string; destination?: NodeJS.WritableStream }): Logger {
  const settings: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.cardNumber'], censor: '[redacted]' },
  };
  return options.destination ? pino(settings, options.destination as pino.DestinationStream) : pino(settings);
}
