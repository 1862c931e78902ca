import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../scenarios/files.ts';
import { outputDir } from './output-paths.ts';
import { timestamp } from './paths.ts';

/**
 * A fresh `<dir>/<name>-<timestamp>.cpuprofile` path; the folder is created now, so a bad one fails
 * before the job runs.
 */
export function cpuProfilePath(dir: string, name: string): string {
  return join(outputDir('cpu-prof-dir', dir), `${name}-${timestamp()}.cpuprofile`);
}

/**
 * Starts V8's sampling CPU profiler inside this process (what `node --cpu-prof` does, but around
 * just the part we choose). The returned function stops it and writes the profile to `path` as a
 * .cpuprofile, which Chrome DevTools (Performance → Load profile) and speedscope open.
 */
export async function startCpuProfile(path: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileAtomic(path, JSON.stringify(profile));
  };
}
