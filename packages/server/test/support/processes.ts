import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Runs a script under tsx (with Node's `flags`) to completion; resolves with its stdout. */
export function run(script: string, args: readonly string[], flags: readonly string[] = []): Promise<string> {
  const child = spawn(
    process.execPath,
    [...flags, '--conditions=source', '--import', 'tsx', join(here, script), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}: ${err}`)),
    ),
  );
}
