/// <reference lib="dom" />
import { type Browser, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';

/**
 * What every browser file of the console needs: the Chromium the global setup chose
 * (setup-browser.ts: @sparticuz/chromium from npm, or CHROMIUM_PATH; a skip reason
 * when there is none), the two viewports, a launch and a page-side poll.
 */
export const BROWSER = inject('consoleBrowser');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Launches the chosen Chromium; only called inside a suite skipped when there is none. */
export const launchBrowser = (): Promise<Browser> => {
  if (!('chromium' in BROWSER)) throw new Error('unreachable: the suite is skipped');
  return chromium.launch({
    executablePath: BROWSER.chromium.executablePath,
    args: [...BROWSER.chromium.args],
  });
};

/**
 * Polls the page until `fn` returns a truthy value (a run takes seconds, not a fixed
 * time), and resolves with it; the error names `what` was awaited.
 */
export const pollPage = async <T, A = undefined>(
  page: Page,
  fn: (arg: A) => T | Promise<T>,
  timeoutMs: number,
  what: string,
  arg?: A
): Promise<NonNullable<Awaited<T>>> => {
  const handle = await page
    .waitForFunction(fn as never, arg as never, { timeout: timeoutMs, polling: 250 })
    .catch((err: Error) => {
      throw new Error(`waiting for ${what}: ${err.message.split('\n')[0]}`);
    });
  // waitForFunction resolves on a truthy value only.
  return (await handle.jsonValue()) as NonNullable<Awaited<T>>;
};
