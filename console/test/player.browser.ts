/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Clients, createClients, readManifest, uploadVideo } from '../../cli/src/index.js';
import type { Manifest } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { poll } from '../../test/helpers/poll.js';
import { rawRequest } from '../../test/helpers/raw-http.js';
import { type RunningConsole, startConsole } from '../src/start.js';
import { BROWSER, launchBrowser, pollPage } from './browser.js';

/**
 * The console's HLS player in Chromium against the local runtime: a finished
 * video's ladder plays through hls.js (bundled into the page), every playlist,
 * init section and segment is fetched through the console's /api/hls/ route, the
 * player's variants are the manifest's, and the quality control switches variant
 * while playing. A screenshot of the player is written only when
 * CONSOLE_SHOTS_DIR names a directory (outside the repo):
 * `CONSOLE_SHOTS_DIR=/tmp/shots npx vitest run --project browser console/test/player.browser.ts`.
 */

const SHOTS = process.env.CONSOLE_SHOTS_DIR;

describe.skipIf('skipReason' in BROWSER)('console HLS player (local runtime)', () => {
  let browser: Browser;
  let consoleApp: RunningConsole;
  let clients: Clients;
  let manifest: Manifest;

  beforeAll(async () => {
    consoleApp = await startConsole({ outputs: inject('consoleOutputsFile'), port: 0 });
    clients = createClients(
      { endpointUrl: consoleApp.endpoint },
      consoleApp.outputs.stateMachineArn
    );
    browser = await launchBrowser();
    // A 720p source with sound: the default ladder gives it two variants (360p, 720p) and audio.
    const clip = await makeClip({ seconds: 14, width: 1280, height: 720, audio: true });
    const { outputs } = consoleApp;
    const { videoId } = await uploadVideo({
      s3: clients.s3,
      bucket: outputs.uploadBucket,
      key: `uploads/player-${Date.now()}.mp4`,
      file: clip,
      size: statSync(clip).size,
    });
    manifest = await poll(
      `the manifest of ${videoId}`,
      async () => (await readManifest(clients.s3, outputs.outputBucket, videoId)) ?? false,
      240_000,
      { intervalMs: 500 }
    );
  });

  afterAll(async () => {
    await browser?.close();
    await consoleApp?.close();
    clients?.s3.destroy();
    clients?.sfn.destroy();
    cleanupMedia();
  });

  it("plays the video's HLS ladder through the console, with the manifest's variants", async () => {
    // Prepare
    expect(manifest.status).toBe('COMPLETE');
    const hls = manifest.hls;
    if (!hls) throw new Error(`the manifest of ${manifest.videoId} has no hls ladder`);
    expect(hls.variants.map((v) => v.resolution).sort()).toEqual(['1280x720', '640x360']);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const origin = new URL(consoleApp.url).origin;
    const media: { url: string; status: number }[] = [];
    page.on('response', (res) => {
      if (/\.(m3u8|m4s|mp4)(\?|$)/.test(res.url()) && !res.url().includes('/api/artifact')) {
        media.push({ url: res.url(), status: res.status() });
      }
    });

    // Act: open the finished video and press play.
    await page.goto(`${consoleApp.url}#/video/${encodeURIComponent(manifest.videoId)}`);
    const levels = await pollPage(
      page,
      () => {
        const lis = [...document.querySelectorAll<HTMLElement>('#hls-levels li')];
        return lis.length > 0
          ? lis.map((li) => ({
              bandwidth: Number(li.dataset.bandwidth),
              resolution: li.dataset.resolution,
              codecs: li.dataset.codecs,
            }))
          : undefined;
      },
      60_000,
      'the player to read the multivariant playlist'
    );
    await page.$eval('#hls-video', (v) => (v as HTMLVideoElement).play());
    const firstLevel = await pollPage(
      page,
      () => {
        const v = document.querySelector<HTMLVideoElement>('#hls-video');
        const level = document.getElementById('player')?.dataset.level;
        return v && v.currentTime > 1 && level !== undefined ? level : undefined;
      },
      60_000,
      'playback to pass 1 s'
    );
    // Pin the other variant, as a user would with the quality control.
    const other = firstLevel === '0' ? '1' : '0';
    const before = await page.$eval('#hls-video', (v) => (v as HTMLVideoElement).currentTime);
    await page.selectOption('#hls-quality', other);
    await pollPage(
      page,
      ({ level, from }) => {
        const v = document.querySelector<HTMLVideoElement>('#hls-video');
        return (
          document.getElementById('player')?.dataset.level === level &&
          v !== null &&
          v.currentTime > from + 1
        );
      },
      60_000,
      'the other variant to play',
      { level: other, from: before }
    );

    // Assess: the player's variants are the manifest's (hls.js orders them itself).
    const byBandwidth = <T extends { bandwidth: number }>(a: T, b: T) => a.bandwidth - b.bandwidth;
    expect(levels.sort(byBandwidth)).toEqual(
      hls.variants
        .map((v) => ({ bandwidth: v.bandwidth, resolution: v.resolution, codecs: v.codecs }))
        .sort(byBandwidth)
    );
    expect(await page.$eval('#player', (el) => (el as HTMLElement).dataset.fatal)).toBeUndefined();
    expect(await page.$eval('#player-error', (el) => (el as HTMLElement).hidden)).toBe(true);
    const paused = await page.$eval('#hls-video', (v) => (v as HTMLVideoElement).paused);
    expect(paused).toBe(false);
    // Every HLS file came through the console's route, and was there.
    const prefix = `${origin}/api/hls/${manifest.videoId}/`;
    expect(media.length).toBeGreaterThan(0);
    expect(media.filter((m) => !m.url.startsWith(prefix) || m.status >= 400)).toEqual([]);
    const fetched = media.map((m) => m.url.slice(prefix.length));
    expect(fetched).toContain('index.m3u8');
    for (const v of hls.variants) {
      const folder = v.playlist.slice(
        `outputs/${manifest.videoId}/hls/`.length,
        -'index.m3u8'.length
      );
      expect(fetched).toContain(`${folder}index.m3u8`);
      expect(fetched).toContain(`${folder}init.mp4`);
      expect(fetched.some((f) => f.startsWith(folder) && f.endsWith('.m4s'))).toBe(true);
    }
    if (hls.audioPlaylist) {
      expect(fetched).toContain(hls.audioPlaylist.slice(`outputs/${manifest.videoId}/hls/`.length));
    }
    // The grid beside the player shows the two progressive MP4s, not the ladder's files one by one.
    const grid = await page.$$eval('#media video', (vs) =>
      vs.map((v) =>
        decodeURIComponent((v as HTMLVideoElement).src).replace(/^.*\/renditions\//, '')
      )
    );
    expect(grid.sort()).toEqual(['360p.mp4', '720p.mp4']);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.locator('#player').screenshot({ path: join(SHOTS, 'console-player.png') });
      await page.screenshot({ path: join(SHOTS, 'console-player-page.png'), fullPage: true });
    }
    await page.close();
  });

  it('serves only the HLS folder of a published video, and only to its own origin', async () => {
    // Prepare
    const id = manifest.videoId;
    const route = `/api/hls/${id}`;
    const base = `${consoleApp.url.replace(/\/$/, '')}${route}`;
    // Sent as written, with chosen headers (fetch folds `%2e%2e` and refuses to set Host).
    const rawGet = async (target: string, headers: Record<string, string> = {}) =>
      (await rawRequest(consoleApp.url, 'GET', target, headers)).status;

    // Act
    const [playlist, internal, escaped, foreignHost, foreignOrigin] = await Promise.all([
      fetch(`${base}/index.m3u8`),
      fetch(`${base}/_work/hls/rendition-720p.json`),
      // Sent raw (fetch would fold it before sending): the server's URL parser reads it as `..`.
      rawGet(`${route}/%2e%2e/manifest.json`),
      // DNS rebinding: another name for this address (RFC 9110 §15.5.20, 421).
      rawGet(`${route}/index.m3u8`, { host: 'evil.example' }),
      // Another site's page reading the stream (403).
      rawGet(`${route}/index.m3u8`, { origin: 'https://evil.example' }),
    ]);

    // Assess
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(await playlist.text()).toMatch(/^#EXTM3U/);
    expect(internal.status).toBe(404);
    expect(escaped).toBe(404);
    expect(foreignHost).toBe(421);
    expect(foreignOrigin).toBe(403);
  });
});
