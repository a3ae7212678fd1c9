import { unwatchFile, watchFile, type Stats } from 'node:fs';

/**
 * Calls `onChange` when `file` changes, found by polling its stat every `pollMs`: robust to
 * editors' and `ficus flags`' atomic renames, which event-based watchers miss. Returns `stop`.
 */
export function watchForChanges(file: string, pollMs: number, onChange: () => void): () => void {
  const listener = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino)
      onChange();
  };
  watchFile(file, { interval: pollMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}
