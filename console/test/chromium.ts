import { existsSync } from 'node:fs';

/**
 * Which Chromium the console's browser tests drive. `npm ci` alone provides
 * one: @sparticuz/chromium carries a headless Chromium inside its npm tarball
 * (inflated once into the OS temp dir), so a fresh machine needs no apt-get
 * and no download from outside the registry. CHROMIUM_PATH still selects a
 * system Chromium (e.g. Debian's /usr/bin/chromium).
 */

export interface ChromiumChoice {
  readonly executablePath: string;
  readonly args: readonly string[];
  /** Said in the run's output, so a report shows which browser it used. */
  readonly source: string;
}

export type ChromiumResolution = { chromium: ChromiumChoice } | { unavailable: string };

/** The flags a system Chromium gets: root (CI) cannot start the sandbox; /dev/shm may be small. */
export const SYSTEM_CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage'] as const;

/**
 * @sparticuz/chromium's flags are made for Lambda. Dropped here: the two that
 * turn off the browser's own security model (the console's tests must see the
 * same-origin rules a user's browser applies), and `--single-process`, which
 * Lambda needs (no prctl there) but which makes this Chromium close itself when
 * a second page opens on an ordinary machine (measured: the second newPage()
 * fails with "Target page, context or browser has been closed").
 */
export const DROPPED_NPM_FLAGS = [
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--single-process',
];

export const npmChromiumArgs = (args: readonly string[]): string[] => [
  ...args.filter((a) => !DROPPED_NPM_FLAGS.includes(a)),
  '--disable-dev-shm-usage',
];

export interface NpmChromium {
  readonly args: readonly string[];
  executablePath(): Promise<string>;
}

const loadNpmChromium = async (): Promise<NpmChromium> =>
  (await import('@sparticuz/chromium')).default;

export const resolveChromium = async (
  env: NodeJS.ProcessEnv = process.env,
  load: () => Promise<NpmChromium> = loadNpmChromium
): Promise<ChromiumResolution> => {
  const system = env.CHROMIUM_PATH;
  if (system) {
    return existsSync(system)
      ? {
          chromium: {
            executablePath: system,
            args: [...SYSTEM_CHROMIUM_ARGS],
            source: `CHROMIUM_PATH=${system}`,
          },
        }
      : { unavailable: `CHROMIUM_PATH=${system} does not exist` };
  }
  try {
    const npm = await load();
    const executablePath = await npm.executablePath();
    return {
      chromium: {
        executablePath,
        args: npmChromiumArgs(npm.args),
        source: `@sparticuz/chromium (${executablePath})`,
      },
    };
  } catch (err) {
    return { unavailable: `@sparticuz/chromium is not usable (${(err as Error).message})` };
  }
};

/** Browser tests are required in CI; elsewhere a machine without a usable browser skips them. */
export const browserRequired = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI === 'true';

/** The one line a developer sees when the browser project is skipped. */
export const skipLine = (reason: string): string =>
  `[browser] SKIPPED: ${reason}. To enable: \`npm ci\` (installs @sparticuz/chromium), or set ` +
  'CHROMIUM_PATH to a Chromium binary.';
