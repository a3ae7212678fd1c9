import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** One structured JSON logger per process; child loggers carry module names and request ids. */
export function createLogger(options: {
  level: string;
  name: string;
  destination?: NodeJS.WritableStream;
  pretty?: boolean;
}): Logger {
  const settings: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.cardNumber'],
      censor: '[redacted]',
    },
  };
  // Human-readable lines for a developer's terminal (pino-pretty is a development dependency).
  if (options.pretty) {
    const ignore = 'pid,hostname,req,res,responseTime';
    return pino({
      ...settings,
      transport: { target: 'pino-pretty', options: { ignore, translateTime: 'HH:MM:ss.l', singleLine: true } },
    });
  }
  return options.destination ? pino(settings, options.destination as pino.DestinationStream) : pino(settings);
}
