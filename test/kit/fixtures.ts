export { demoAccounts } from '../../monolith/src/modules/users/index.js';
export { sandboxCards } from '../../monolith/src/modules/payments/index.js';
