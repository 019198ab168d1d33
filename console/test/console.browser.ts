/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { ROOT } from '../../local-runtime/src/index.js';
import { poll } from '../../test/helpers/poll.js';
import { type RunningConsole, startConsole } from '../src/start.js';
import { BROWSER, DESKTOP, launchBrowser, PHONE, pollPage } from './browser.js';

/**
 * The console in Chromium (the one the global setup chose: @sparticuz/chromium
 * from npm, or CHROMIUM_PATH), against the local runtime the global setup
 * started: upload through the page, watch the run, look at its media, and the
 * two error states. Screenshots go to test-artifacts/ (git-ignored).
 */

const ARTIFACTS = join(ROOT, 'test-artifacts');

const freePortThatRefuses = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

// The setup printed why when it skips (never in CI).
describe.skipIf('skipReason' in BROWSER)('console in a real browser (local runtime)', () => {
  let browser: Browser;
  let consoleApp: RunningConsole;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    consoleApp = await startConsole({ outputs: inject('consoleOutputsFile'), port: 0 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await consoleApp?.close();
    cleanupMedia();
  });

  it('uploads a clip through the page and shows its timeline, thumbnails, rendition and manifest', async () => {
    // Prepare
    // 30 s, so the run lasts a few seconds even on warm environments (4 s ended before the
    // page drew a running bar once, in a CI run here).
    const clip = await makeClip({ seconds: 30, width: 640, height: 360 });
    const named = join(ARTIFACTS, 'console clip.mp4');
    copyFileSync(clip, named);
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(consoleApp.url);
    await pollPage(
      page,
      () => document.getElementById('target')?.textContent?.includes('VideoPipeline'),
      10_000,
      'the target line'
    );

    // Act: one extra thumbnail past the end makes one branch fail (a PARTIAL run).
    // The file input inside the drop zone is the keyboard path to an upload.
    await page.fill('#times', '1,99');
    await page.setInputFiles('#file', named);
    const videoId = await pollPage(
      page,
      () => /^#\/video\/(.+)$/.exec(location.hash)?.[1],
      60_000,
      'the page to open the uploaded video'
    );
    // Every status a bar showed while the run went on: the timeline fills in live.
    const seen = new Set<string>();
    let finalStatuses: string[] = [];
    await poll(
      'every timeline bar to settle and the manifest to show',
      async () => {
        finalStatuses = await page.$$eval('#timeline [data-status]', (els) =>
          els.map((e) => e.getAttribute('data-status') ?? '')
        );
        for (const s of finalStatuses) seen.add(s);
        if ((await page.textContent('#execution-status').catch(() => null)) === 'RUNNING') {
          seen.add('execution RUNNING');
        }
        const manifestShown = await page.locator('#manifest').count();
        const settled = finalStatuses.every((s) => s === 'succeeded' || s === 'failed');
        return manifestShown > 0 && settled;
      },
      180_000,
      { intervalMs: 200 }
    );

    // Assess: timeline
    const bars = await page.$$eval('#timeline [data-bar]', (els) =>
      els.map((e) => e.getAttribute('data-bar'))
    );
    expect(bars[0]).toBe('Probe');
    expect(bars[1]).toBe('Plan');
    expect(bars.at(-1)).toBe('Aggregate');
    expect(bars).toContain('rendition-360p');
    expect(bars).toContain('thumb-01');
    const statusOf = Object.fromEntries(bars.map((b, i) => [b, finalStatuses[i]]));
    expect(statusOf['thumb-at-99s']).toBe('failed');
    expect(statusOf['thumb-at-1s']).toBe('succeeded');
    expect(statusOf['rendition-360p']).toBe('succeeded');
    expect(finalStatuses.filter((s) => s === 'failed')).toHaveLength(1);
    // The workflow catches a branch failure: the execution succeeds, the video is PARTIAL.
    expect(await page.textContent('#execution-status')).toBe('SUCCEEDED');
    expect(await page.textContent('#manifest-status')).toBe('PARTIAL');
    const failedRow = await page.textContent('#manifest tbody tr:has-text("thumb-at-99s")');
    expect(failedRow).toContain('FrameNotFoundError: no frame at 99s');
    // Manifest: one row per branch, the same branches as the timeline.
    const manifestRows = await page.$$eval('#manifest tbody tr td:first-child', (tds) =>
      tds.map((td) => td.textContent)
    );
    expect(manifestRows.sort()).toEqual(bars.slice(2, -1).sort());

    // Thumbnails render and the rendition's metadata loads (served through the console).
    const widths = await pollPage(
      page,
      () => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('#media img')];
        return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0)
          ? imgs.map((i) => i.naturalWidth)
          : undefined;
      },
      30_000,
      'the thumbnails to render'
    );
    // thumb-01..03 and thumb-at-1s; the failed one has no image.
    expect(widths).toHaveLength(4);
    const readyState = await pollPage(
      page,
      () => {
        const v = document.querySelector<HTMLVideoElement>('#media video');
        return v && v.readyState >= 1 ? v.readyState : undefined;
      },
      30_000,
      'the rendition to load its metadata'
    );
    expect(readyState).toBeGreaterThanOrEqual(1);
    const videoSize = await page.$eval('#media video', (v) => [
      (v as HTMLVideoElement).videoWidth,
      (v as HTMLVideoElement).videoHeight,
    ]);
    expect(videoSize).toEqual([640, 360]);
    // The list shows it too.
    await pollPage(
      page,
      (id) =>
        [...document.querySelectorAll('#videos tbody tr')].some(
          (tr) => tr.textContent?.includes(id) && tr.textContent.includes('PARTIAL')
        ),
      30_000,
      'the list to show the video as PARTIAL',
      decodeURIComponent(videoId ?? '')
    );
    // The page followed the run live: before everything settled it drew the run unfinished
    // (a bar pending or running, or the execution RUNNING).
    expect([...seen].some((s) => ['running', 'pending', 'execution RUNNING'].includes(s))).toBe(
      true
    );
    await page.evaluate(
      () => document.activeElement instanceof HTMLElement && document.activeElement.blur()
    );
    await shot(page, 'console-run-1280');
    writeFileSync(join(ARTIFACTS, 'console-run-seen.json'), JSON.stringify([...seen]));

    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth
    );
    expect(overflow).toBe(0);
    await shot(page, 'console-run-phone');
    await page.close();
  });

  it('takes a file dropped on the drop zone, and shows the FAILED manifest of a non-video', async () => {
    // Prepare: a text file named like a video, the classic wrong upload.
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(consoleApp.url);
    const drop = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['not a video at all'], 'notes.mp4', { type: 'video/mp4' }));
      return dt;
    });

    // Act
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: drop });

    // Assess
    const status = await pollPage(
      page,
      () => document.getElementById('manifest-status')?.textContent,
      120_000,
      'the manifest of the dropped file'
    );
    expect(status).toBe('FAILED');
    expect(await page.textContent('#detail-h')).toMatch(/^notes-[0-9a-f]{16}$/);
    expect(await page.locator('#media').count()).toBe(0);
    // The aggregator writes the manifest before its state exits: wait for the execution's end.
    await pollPage(
      page,
      () => {
        const s = document.getElementById('execution-status')?.textContent;
        return s && s !== 'RUNNING';
      },
      60_000,
      'the execution to end'
    );
    const bars = await page.$$eval('#timeline [data-bar]', (els) =>
      els.map((e) => [e.getAttribute('data-bar'), e.getAttribute('data-status')])
    );
    expect(bars).toEqual([
      ['Probe', 'failed'],
      ['Plan', 'skipped'],
      ['Aggregate', 'succeeded'],
    ]);
    await shot(page, 'console-dropped-non-video');
    await page.close();
  });

  it('opens a video from the list with the keyboard alone', async () => {
    // Prepare: the earlier tests left videos in the list.
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(consoleApp.url);
    await pollPage(page, () => document.querySelector('#videos a'), 15_000, 'a video link');

    // Act: Tab until a video link has the focus, then Enter.
    const path: string[] = [];
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}` : '';
      });
      path.push(focused);
      if (await page.evaluate(() => document.activeElement?.closest('#videos') !== null)) break;
    }
    const target = await page.evaluate(() => document.activeElement?.textContent);
    await page.keyboard.press('Enter');

    // Assess: the skip link and the upload controls come first, then the list.
    expect(path.slice(0, 3)).toEqual(['a', 'input#file', 'input#times']);
    expect(path.at(-1)).toBe('a');
    const heading = await pollPage(
      page,
      () => document.getElementById('detail-h')?.textContent,
      15_000,
      'the video opened from the keyboard'
    );
    expect(heading).toBe(target);
    await page.close();
  });

  it('says so in the page when a videoId is unknown', async () => {
    // Prepare
    const page = await browser.newPage({ viewport: DESKTOP });

    // Act
    await page.goto(`${consoleApp.url}/#/video/no-such-video-0000`);

    // Assess
    const message = await pollPage(
      page,
      () => document.getElementById('detail-error')?.textContent,
      15_000,
      'the unknown-video message'
    );
    expect(message).toContain('no such video: no-such-video-0000');
    await shot(page, 'console-unknown-video');
    await page.close();
  });

  it('shows "cannot reach" when the endpoint is down, not a blank page', async () => {
    // Prepare: the same outputs file, pointed at a port nothing listens on.
    const downPort = await freePortThatRefuses();
    const down = await startConsole({
      outputs: inject('consoleOutputsFile'),
      endpointUrl: `http://127.0.0.1:${downPort}`,
      port: 0,
    });
    const page = await browser.newPage({ viewport: DESKTOP });
    try {
      // Act
      await page.goto(down.url);

      // Assess
      const banner = await pollPage(
        page,
        () => {
          const el = document.getElementById('banner');
          return el && !el.hidden ? el.textContent : undefined;
        },
        30_000,
        'the endpoint-down banner'
      );
      expect(banner).toContain(`cannot reach http://127.0.0.1:${downPort}`);
      await shot(page, 'console-endpoint-down');
    } finally {
      await page.close();
      await down.close();
    }
  });
});
