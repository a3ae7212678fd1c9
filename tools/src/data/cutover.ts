import { FicusError, type Knex } from '../../../platform/src/index.js';
import { type FreezeHold, freezeWrites, holdFreeze, installFreezeGuard, unfreezeWrites } from './freeze.js';
import { waitForCatchUp } from './lag.js';
import { quoteIdent, replicationName } from './names.js';
import { connect, type DataPair } from './pair.js';
import { checkSequences } from './sequences.js';
import { removeReplication } from './stop.js';
import { serverVersion, startSync, subscriptionState } from './sync.js';
import { verifyData } from './verify.js';

/** What moving the writer changes outside the databases: the routes and the in-process API. */
export interface WriterSwitch {
  /** Whether the module's writes already go to the new writer (an earlier run switched them). */
  flipped(): Promise<boolean>;
  /** Fails, saying why, unless the new writer's process is up and ready to take the writes. */
  ready(): Promise<void>;
  /**
   * Sends the module's writes (routes, the monolith's API) to the new writer, all or nothing:
   * the point of no return.
   */
  flip(): Promise<void>;
}

export interface MoveOptions {
  /** The module's database role on both sides (the owner of its tables). */
  role: string;
  switch: WriterSwitch;
  /** Longest wait for the replica to apply the writer's last change (default 10 s). */
  catchUpTimeoutMs?: number;
  /** Longest wait for the write transactions under way when the freeze starts (default 5 s). */
  freezeWaitMs?: number;
  /** How the old writer's server reaches the new writer's, for the replication back (default: its URL). */
  reverseConninfo?: string | undefined;
}

export interface MoveResult {
  /** Each step with how long it took. */
  steps: Array<{ step: string; ms: number }>;
  /** From the freeze of the old writer to the switch of the writes (0 when only finishing). */
  freezeMs: number;
  /** The replication that now keeps the old writer current. */
  replication: string;
  /** True when an earlier, interrupted run had already switched the writes and this one finished it. */
  finished: boolean;
}

interface Step {
  step: string;
  run(): Promise<void>;
  /** What undoes it if a later step fails before the switch. */
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
 * losing nothing, and safe to interrupt anywhere (a killed command, a lost connection, a service
 * that went down):
 *
 * - Up to the switch, the old writer stays the writer. Its freeze is held by a session of this
 *   command (`holdFreeze`), so a kill or a lost connection opens its writes again by itself; the
 *   replication to the new writer is kept; the replication back starts beside it, both sending
 *   only their own side's changes (`origin = none`). A failure undoes the steps before it.
 * - The switch of the writes (routes and API flag, one write to a flags file) is the point of no
 *   return. After it, the old writer is frozen for good and the replication to the new writer
 *   removed; if that is interrupted, the next run sees the switch made and finishes it.
 */
export async function moveWriter(pair: DataPair, options: MoveOptions): Promise<MoveResult> {
  const say = pair.say ?? (() => undefined);
  const current = replicationName(pair);
  const back = reversed(pair, options.reverseConninfo);
  const returning = replicationName(back);
  const catchUpMs = options.catchUpTimeoutMs ?? 10_000;
  const writer = await connect('source', pair.sourceUrl);
  let replica: Knex | undefined;
  let frozen: FreezeHold | undefined;
  const steps: MoveResult['steps'] = [];
  const timed = async (step: string, run: () => Promise<void>) => {
    const started = performance.now();
    say(`${pair.module}: ${step}…`);
    await run();
    const ms = performance.now() - started;
    steps.push({ step, ms });
    say(`${pair.module}: ${step}: done in ${Math.round(ms)} ms`);
  };
  try {
    replica = await connect('target', pair.targetUrl);
    const target = replica;
    const state = await subscriptionState(target, current);
    if (await options.switch.flipped()) {
      if (state === 'none')
        throw new FicusError(
          'FICUS_ERR_DATA_SETUP',
          `${pair.module}: the writes already go to ${pair.direction?.split(' to ')[1] ?? 'the service'}, and ` +
            `nothing replicates to it any more: there is nothing to move (ficus data status ${pair.module} ` +
            'shows which way the data flows)',
        );
      say(`${pair.module}: the writes were switched by an earlier run that did not finish; finishing it`);
      await finish(pair, writer, target, { ...options, catchUpMs, current, back, timed });
      return { steps, freezeMs: 0, replication: returning, finished: true };
    }
    if (state !== 'enabled')
      throw new FicusError(
        'FICUS_ERR_DATA_SETUP',
        `${pair.module}: the writes can move only to a replica that is current, and ${current} is not replicating: ` +
          `run ficus data sync ${pair.module} (or check ficus data status ${pair.module}) first`,
      );
    const versions = await Promise.all([serverVersion(writer), serverVersion(target)]);
    if (versions.some((v) => v < 160000))
      throw new FicusError(
        'FICUS_ERR_DATA_SETUP',
        `${pair.module}: moving the writer needs PostgreSQL 16 or newer on both servers (found ` +
          `${versions.map((v) => `${Math.floor(v / 10000)}`).join(' and ')}): replication runs both ways for a moment, ` +
          'each side sending only its own changes (origin = none, PostgreSQL 16+); upgrade first',
      );
    await timed('prepare both sides', async () => {
      await Promise.all([installFreezeGuard(writer, pair.schema), installFreezeGuard(target, pair.schema)]);
      // With replication both ways during the move, each side sends only its own changes; and the
      // replica's tables refuse their owner's writes (below), so it applies as the subscription's owner.
      await target.raw(`ALTER SUBSCRIPTION ${quoteIdent(current)} SET (origin = none, run_as_owner = true)`);
      // A replica some interrupted run left writable is closed again; only the writer takes writes.
      await freezeWrites(target, pair.schema, options.role);
    });
    let frozenAt = 0;
    const plan: Step[] = [
      {
        step: 'freeze writes on the old writer',
        run: async () => {
          frozenAt = performance.now();
          frozen = await holdFreeze(pair.sourceUrl, pair.schema, { waitMs: options.freezeWaitMs ?? 5_000 });
        },
        undo: async () => frozen?.release(),
      },
      {
        step: "wait for the replica to apply the old writer's last change",
        run: async () => void (await waitForCatchUp(writer, current, catchUpMs)),
      },
      { step: 'verify both sides hold the same rows', run: () => verifyEqual(pair, catchUpMs) },
      {
        step: "set the replica's sequences past the writer's",
        run: async () => void (await checkSequences(writer, target, pair.schema, { fix: true })),
      },
      {
        step: 'replicate back: the old writer becomes a current copy',
        run: async () => void (await startSync(back, { copyData: false })),
        // The replication back runs from the replica (its publisher) to the old writer.
        undo: async () => void (await removeReplication(target, writer, returning, allParts)),
      },
      {
        step: 'open writes on the new writer',
        run: () => unfreezeWrites(target, pair.schema, options.role),
        undo: () => freezeWrites(target, pair.schema, options.role),
      },
      {
        step: 'switch the writes to the new writer',
        run: async () => {
          await options.switch.ready();
          await frozen!.assertHeld();
          await options.switch.flip();
        },
      },
    ];
    const done: Step[] = [];
    try {
      for (const step of plan) {
        await timed(step.step, step.run);
        done.push(step);
      }
    } catch (error) {
      await undo(pair, done);
      throw error;
    }
    const freezeMs = performance.now() - frozenAt;
    await finish(pair, writer, target, { ...options, catchUpMs, current, back, timed, frozen });
    frozen = undefined;
    return { steps, freezeMs, replication: returning, finished: false };
  } finally {
    await Promise.all([frozen?.release(), writer.destroy(), replica?.destroy()]);
  }
}

/** Undoes the steps done, last first, each on its own: one failing undo does not skip the others. */
async function undo(pair: DataPair, done: Step[]): Promise<void> {
  const say = pair.say ?? (() => undefined);
  for (const step of [...done].reverse()) {
    if (!step.undo) continue;
    try {
      await step.undo();
      say(`${pair.module}: undone: ${step.step}`);
    } catch (undoError) {
      say(`${pair.module}: could not undo "${step.step}": ${(undoError as Error).message}`);
    }
  }
}

async function verifyEqual(pair: DataPair, lagTimeoutMs: number): Promise<void> {
  const verified = await verifyData(pair, { lagTimeoutMs });
  if (verified.equal) return;
  const tables = verified.tables.filter((t) => !t.equal).map((t) => t.table);
  throw new FicusError(
    'FICUS_ERR_DATA_SYNC',
    `${pair.module}: after catching up, ${tables.join(', ')} differ${tables.length > 1 ? '' : 's'} between ` +
      `the two sides: ficus data verify ${pair.module} names the rows; nothing was switched`,
  );
}

/**
 * After the switch: the old writer frozen for good, then (everything it took before the freeze
 * applied on the new writer) the replication to the new writer removed. Each part is idempotent,
 * so a run interrupted here is finished by the next. Not undone on failure: the writes have moved.
 */
async function finish(
  pair: DataPair,
  writer: Knex,
  target: Knex,
  context: MoveOptions & {
    catchUpMs: number;
    current: string;
    back: DataPair;
    timed: (step: string, run: () => Promise<void>) => Promise<void>;
    frozen?: FreezeHold | undefined;
  },
): Promise<void> {
  try {
    await context.timed('freeze the old writer for good', async () => {
      await freezeWrites(writer, pair.schema, context.role);
      await context.frozen?.release();
    });
    // Done before the switch, unless an interrupted run is being finished.
    if (!context.frozen)
      await context.timed('make sure the new writer takes writes and replicates back', async () => {
        await unfreezeWrites(target, pair.schema, context.role);
        await startSync(context.back, { copyData: false });
      });
    await context.timed('stop the replication to the new writer', async () => {
      await waitForCatchUp(writer, context.current, context.catchUpMs);
      await removeReplication(writer, target, context.current, allParts);
    });
  } catch (error) {
    throw new FicusError(
      'FICUS_ERR_DATA_SYNC',
      `${pair.module}: the writes have moved, but finishing failed: ${(error as Error).message}; ` +
        'run the same command again to finish (it picks up where this stopped)',
      { cause: error },
    );
  }
}

const allParts = { subscription: true, slot: true, publication: true };
