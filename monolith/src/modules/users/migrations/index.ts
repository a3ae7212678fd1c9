import type { Migration } from '../../../../../platform/src/index.js';
import { createAccounts } from './001-create-accounts.js';

/** In order; append, never reorder or edit one that has shipped. */
export const migrations: readonly Migration[] = [createAccounts];
