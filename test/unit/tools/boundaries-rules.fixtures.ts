/** One small repository per boundary rule, each breaking that rule once; the spec checks the exact report. */
export interface RuleFixture {
  rule: string;
  files: Record<string, string>;
  /** The human report `ficus boundaries` prints for it. */
  report: string;
}

const manifest = (name: string, dependsOn: string[] = []) => JSON.stringify({ name, schema: name, dependsOn });

/** Two modules, shipping using billing through its index.ts: clean on its own. */
const base: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
  }),
  'monolith/src/modules/billing/module.json': manifest('billing'),
  'monolith/src/modules/billing/index.ts': "export { rate } from './internal/rates.js';\n",
  'monolith/src/modules/billing/internal/rates.ts': 'export const rate = 2;\n',
  'monolith/src/modules/shipping/module.json': manifest('shipping', ['billing']),
  'monolith/src/modules/shipping/index.ts':
    "import { rate } from '../billing/index.js';\nexport const ship = () => rate;\n",
  'platform/src/index.ts': 'export const log = () => undefined;\n',
};

export const ruleFixtures: RuleFixture[] = [
  {
    rule: 'module-internals-private',
    files: {
      ...base,
      'monolith/src/modules/shipping/internal/quote.ts':
        "import { rate } from '../../billing/internal/rates.js';\nexport const quote = () => rate;\n",
    },
    report: `ficus boundaries: 5 files, 2 modules (billing, shipping)
1 new violation:

shipping
  monolith/src/modules/shipping/internal/quote.ts:1 → monolith/src/modules/billing/internal/rates.ts
    module-internals-private: A module's index.ts is its only public surface: import another module through it, never its http/, internal/ or migrations/ files.

`,
  },
  {
    rule: 'module-internals-private (composition root)',
    files: {
      ...base,
      'monolith/src/app.ts':
        "import { ship } from './modules/shipping/index.js';\nimport { rate } from './modules/billing/internal/rates.js';\nexport const app = [ship, rate];\n",
    },
    report: `ficus boundaries: 5 files, 2 modules (billing, shipping)
1 new violation:

monolith
  monolith/src/app.ts:2 → monolith/src/modules/billing/internal/rates.ts
    module-internals-private: Code outside the modules (composition roots, services, the router) reaches a module only through its index.ts.

`,
  },
  {
    rule: 'module-undeclared-dependency',
    files: { ...base, 'monolith/src/modules/shipping/module.json': manifest('shipping') },
    report: `ficus boundaries: 4 files, 2 modules (billing, shipping)
1 new violation:

shipping
  monolith/src/modules/shipping/index.ts:1 → monolith/src/modules/billing/index.ts
    module-undeclared-dependency: shipping may use only the modules its module.json declares (none); declare a dependency there first, so extraction order stays visible.

`,
  },
  {
    rule: 'module-no-cycles',
    files: {
      ...base,
      'monolith/src/modules/billing/module.json': manifest('billing', ['shipping']),
      'monolith/src/modules/billing/internal/label.ts':
        "import { ship } from '../../shipping/index.js';\nexport const label = ship;\n",
    },
    report: `ficus boundaries: 5 files, 2 modules (billing, shipping)
2 new violations:

billing
  monolith/src/modules/billing/internal/label.ts:1 → monolith/src/modules/shipping/index.ts
    cycle: billing (monolith/src/modules/billing/internal/label.ts:1) → shipping (monolith/src/modules/shipping/index.ts:1) → billing
    module-no-cycles: Modules that depend on each other in a cycle cannot be extracted one at a time.

shipping
  monolith/src/modules/shipping/index.ts:1 → monolith/src/modules/billing/index.ts
    cycle: shipping (monolith/src/modules/shipping/index.ts:1) → billing (monolith/src/modules/billing/internal/label.ts:1) → shipping
    module-no-cycles: Modules that depend on each other in a cycle cannot be extracted one at a time.

`,
  },
  {
    rule: 'services-not-to-monolith',
    files: {
      ...base,
      'services/billing/src/server.ts':
        "import { rate } from '../../../monolith/src/modules/billing/index.js';\nexport const server = rate;\n",
    },
    report: `ficus boundaries: 5 files, 2 modules (billing, shipping)
1 new violation:

services
  services/billing/src/server.ts:1 → monolith/src/modules/billing/index.ts
    services-not-to-monolith: An extracted service runs without the monolith: it may not import monolith code or its modules.

`,
  },
  {
    rule: 'services-not-to-each-other',
    files: {
      ...base,
      'services/billing/src/server.ts': 'export const server = 1;\n',
      'services/shipping/src/server.ts':
        "import { server as billing } from '../../billing/src/server.js';\nexport const server = billing;\n",
    },
    report: `ficus boundaries: 6 files, 2 modules (billing, shipping)
1 new violation:

services
  services/shipping/src/server.ts:1 → services/billing/src/server.ts
    services-not-to-each-other: Services talk over the network or events, never by importing each other.

`,
  },
  {
    rule: 'platform-imports-no-module',
    files: {
      ...base,
      'platform/src/index.ts':
        "import { rate } from '../../monolith/src/modules/billing/index.js';\nexport const log = () => rate;\n",
    },
    report: `ficus boundaries: 4 files, 2 modules (billing, shipping)
1 new violation:

platform
  platform/src/index.ts:1 → monolith/src/modules/billing/index.ts
    platform-imports-no-module: platform/ is the chassis everything shares: it may not depend on what is built on it.

`,
  },
  {
    rule: 'monolith-not-to-router-services-tools',
    files: {
      ...base,
      'router/src/main.ts': 'export const route = 1;\n',
      'monolith/src/server.ts': "import { route } from '../../router/src/main.js';\nexport const server = route;\n",
    },
    report: `ficus boundaries: 6 files, 2 modules (billing, shipping)
1 new violation:

monolith
  monolith/src/server.ts:1 → router/src/main.ts
    monolith-not-to-router-services-tools: The monolith depends on platform/ only; the router, services and tools are outside it.

`,
  },
  {
    rule: 'router-only-platform',
    files: {
      ...base,
      'router/src/main.ts':
        "import { ship } from '../../monolith/src/modules/shipping/index.js';\nexport const route = ship;\n",
    },
    report: `ficus boundaries: 5 files, 2 modules (billing, shipping)
1 new violation:

router
  router/src/main.ts:1 → monolith/src/modules/shipping/index.ts
    router-only-platform: The router is the front door for any backend: it depends on platform/ only, never on the code it routes to.

`,
  },
  {
    rule: 'module-data-ownership',
    files: {
      ...base,
      'monolith/src/modules/shipping/internal/repository.ts':
        "export const rates = (db: (t: string) => unknown) => db('billing.rates');\n",
      'monolith/src/modules/shipping/migrations/001_init.sql':
        'create view shipping.rates as select * from billing.rates;\n',
    },
    report: `ficus boundaries: 5 files, 2 modules (billing, shipping)
2 new violations:

shipping
  monolith/src/modules/shipping/internal/repository.ts:1 → monolith/src/modules/billing (billing.rates)
    module-data-ownership: A module reads and writes only its own schema; ask the owning module's index.ts (or react to its events) instead of its tables. (schema billing belongs to billing)
  monolith/src/modules/shipping/migrations/001_init.sql:1 → monolith/src/modules/billing (billing.rates)
    module-data-ownership: A module reads and writes only its own schema; ask the owning module's index.ts (or react to its events) instead of its tables. (schema billing belongs to billing)

`,
  },
];
