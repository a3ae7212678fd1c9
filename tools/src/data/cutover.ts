import { FicusError, type Knex } from '../../../platform/src/index.js';
import { freezeWrites, unfreezeWrites } from './freeze.js';
import { waitForCatchUp } from './lag.js';
import { replicationName } from './names.js';
import { connect, type DataPair } from './pair.js';
import { checkSequences } from './sequences.js';
import { removeReplication } from './stop.js';
import { startSync, subscriptionState } from './sync.js';
import { verifyData } from './verify.js';

/** What moving the writer changes outside the databases: the routes and the in-process API. */
export interface WriterSwitch {
  /** Sends the module's writes (routes, the monolith's API) to the new writer. */
  flip(): Promise<void>;
  /** Undoes `flip`. */
  unflip(): Promise<void>;
}

export interface MoveOptions {
  /** The module's database role on both sides (the owner of its tables). */
  role: string;
  switch: WriterSwitch;
  /** Longest wait for the replica to apply the writer's last change (default 10 s). */
  catchUpTimeoutMs?: number;
  /** How the old writer's server reaches the new writer's, for the replication back (default: its URL). */
  reverseConninfo?: string | undefined;
}

export interface MoveResult {
  /** Each step with how long it took. */
  steps: Array<{ step: string; ms: number }>;
  /** From the freeze of the old writer to writes open on the new one. */
  freezeMs: number;
  /** The replication that now keeps the old writer current. */
  replication: string;
}

interface Step {
  step: string;
  run(): Promise<void>;
  /** What undoes it if a later step fails. */
  undo?: () => Promise<void>;
}

/** The pair seen from the other side: the replica becomes the publisher. */
function reversed(pair: DataPair, conninfo: string | undefined): DataPair {
  const { publisherConninfo: _, ...rest } = pair;
  return {
    ...rest,
    sourceUrl: pair.targetUrl,
    targetUrl: pair.sourceUrl,
    ...(conninfo ? { publisherConninfo: conninfo } : {}),
  };
}

/**
 * Moves a module's writer from `pair.sourceUrl` (replicated to `pair.targetUrl`) to the target,
 * losing nothing: the old writer's writes are frozen, the replica applies everything up to the
 * old writer's current WAL position, the two are verified equal and the replica's sequences set,
 * the replication is turned around (the old writer becomes a current copy, no data copied), the
 * writes are switched, and the new writer's are opened. A failure at any step undoes the steps
 * before it, in reverse, leaving the old writer the writer.
 */
export async function moveWriter(pair: DataPair, options: MoveOptions): Promise<MoveResult> {
  const say = pair.say ?? (() => undefined);
  const current = replicationName(pair);
  const back = reversed(pair, options.reverseConninfo);
  const returning = replicationName(back);
  const writer = await connect('source', pair.sourceUrl);
  let replica: Knex | undefined;
  const steps: MoveResult['steps'] = [];
  const done: Step[] = [];
  let frozenAt = 0;
  try {
    replica = await connect('target', pair.targetUrl);
    const target = replica;
    if ((await subscriptionState(target, current)) !== 'enabled')
      throw new FicusError(
        'FICUS_ERR_DATA_SETUP',
        `${pair.module}: the writes can move only to a replica that is current, and ${current} is not replicating: ` +
          `run ficus data sync ${pair.module} (or check ficus data status ${pair.module}) first`,
      );
    const plan: Step[] = [
      {
        step: 'freeze writes on the old writer',
        run: async () => {
          frozenAt = performance.now();
          await freezeWrites(writer, pair.schema, options.role);
        },
        undo: () => unfreezeWrites(writer, pair.schema, options.role),
      },
      {
        step: "wait for the replica to apply the old writer's last change",
        run: async () => void (await waitForCatchUp(writer, current, options.catchUpTimeoutMs ?? 10_000)),
      },
      {
        step: 'verify both sides hold the same rows',
        run: async () => {
          const verified = await verifyData(pair, { lagTimeoutMs: options.catchUpTimeoutMs ?? 10_000 });
          if (!verified.equal) {
            const tables = verified.tables.filter((t) => !t.equal).map((t) => t.table);
            throw new FicusError(
              'FICUS_ERR_DATA_SYNC',
              `${pair.module}: after catching up, ${tables.join(', ')} differ${tables.length > 1 ? '' : 's'} between ` +
                `the two sides: ficus data verify ${pair.module} names the rows; nothing was switched`,
            );
          }
        },
      },
      {
        step: "set the replica's sequences past the writer's",
        run: async () => void (await checkSequences(writer, target, pair.schema, { fix: true })),
      },
      {
        step: 'stop the replication to the replica',
        run: async () => void (await removeReplication(writer, target, current, allParts)),
        undo: async () => void (await startSync(pair, { copyData: false })),
      },
      {
        step: 'replicate back: the old writer becomes a current copy',
        run: async () => void (await startSync(back, { copyData: false })),
        // The replication back runs from the replica (its publisher) to the old writer.
        undo: async () => void (await removeReplication(target, writer, returning, allParts)),
      },
      { step: 'switch the writes to the new writer', run: options.switch.flip, undo: options.switch.unflip },
      {
        step: 'open writes on the new writer',
        run: () => unfreezeWrites(target, pair.schema, options.role),
      },
    ];
    for (const step of plan) {
      const started = performance.now();
      say(`${pair.module}: ${step.step}…`);
      await step.run();
      const ms = performance.now() - started;
      steps.push({ step: step.step, ms });
      done.push(step);
      say(`${pair.module}: ${step.step}: done in ${Math.round(ms)} ms`);
    }
    const freezeMs = performance.now() - frozenAt;
    say(`${pair.module}: writes were frozen for ${Math.round(freezeMs)} ms`);
    return { steps, freezeMs, replication: returning };
  } catch (error) {
    for (const step of done.reverse()) {
      if (!step.undo) continue;
      try {
        await step.undo();
        say(`${pair.module}: undone: ${step.step}`);
      } catch (undoError) {
        say(`${pair.module}: could not undo "${step.step}": ${(undoError as Error).message}`);
      }
    }
    throw error;
  } finally {
    await Promise.all([writer.destroy(), replica?.destroy()]);
  }
}

const allParts = { subscription: true, slot: true, publication: true };
