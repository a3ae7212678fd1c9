// A real Unleash server for tests, in a process of its own: unleash-server installs
// process-wide exit handlers that must not live inside the test runner.
// Env: DATABASE_URL, PORT, ADMIN_TOKEN, CLIENT_TOKEN. Prints "unleash ready" when serving.
import { start } from 'unleash-server';

const db = new URL(process.env.DATABASE_URL);
const silent = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const unleash = await start({
  db: {
    host: db.hostname,
    port: Number(db.port),
    user: decodeURIComponent(db.username),
    password: decodeURIComponent(db.password),
    database: db.pathname.slice(1),
    ssl: false,
  },
  server: { port: Number(process.env.PORT), host: '127.0.0.1', gracefulShutdownEnable: false },
  authentication: {
    type: 'open-source',
    initApiTokens: [
      {
        type: 'admin',
        secret: process.env.ADMIN_TOKEN,
        tokenName: 'ficus-test-admin',
        projects: ['*'],
        environment: '*',
      },
      {
        type: 'client',
        secret: process.env.CLIENT_TOKEN,
        tokenName: 'ficus-test-client',
        projects: ['default'],
        environment: 'development',
      },
    ],
  },
  versionCheck: { enable: false },
  getLogger: () => silent,
});
process.stdout.write('unleash ready\n');
const stop = async () => {
  await unleash.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
