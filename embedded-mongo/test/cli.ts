import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The store's command line (`npm run mongo`), running. */
export interface Cli {
  proc: ChildProcess;
  uri: string;
  stderr: () => string;
}

const spawnCli = (dir: string, args: string[]): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

/** Starts `npm run mongo -- --port 0 --dir <dir> [args]` and waits for its connection string. */
export async function startCli(dir: string, args: string[] = []): Promise<Cli> {
  const proc = spawnCli(dir, args);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no connection string within 15 s; stderr: ${err}`)), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('mongodb://'));
      if (line) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited with ${String(code)}; stderr: ${err}`)));
  });
  return { proc, uri, stderr: () => err };
}

/** Runs the command line expecting it to refuse to start: its exit code and stderr. */
export async function refusedCli(dir: string, args: string[] = []): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const proc = spawnCli(dir, args);
  let stderr = '';
  let stdout = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await exited(proc);
  return { code, stderr, stdout };
}

/** Resolves with the exit code once the process has exited. */
export const exited = (proc: ChildProcess): Promise<number | null> =>
  proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve(proc.exitCode) : new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
