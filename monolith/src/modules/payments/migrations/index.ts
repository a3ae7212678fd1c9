import type { Migration } from '../../../../../platform/src/index.js';
import { createCharges } from './001-create-charges.js';

/** In order; append, never reorder or edit one that has shipped. */
export const migrations: readonly Migration[] = [createCharges];
