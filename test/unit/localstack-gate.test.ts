import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { localStackProblem } from '../e2e/target.js';

// The one gate in front of every LocalStack suite (e2e projects and conformance): a printed
// skip outside CI, a failure in CI or with E2E_REQUIRE_LOCALSTACK=1.
describe('localStackProblem', () => {
  let server: Server;
  let up: string;
  let down: string;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    up = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    down = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  afterEach(() => vi.unstubAllEnvs());

  it('gives the reason to skip when nothing answers and LocalStack is not required', async () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('E2E_REQUIRE_LOCALSTACK', '');
    await expect(localStackProblem('suite', down)).resolves.toBe(
      `no LocalStack answers at ${down}`
    );
  });

  it('fails in CI, naming the suite and the reason', async () => {
    vi.stubEnv('CI', 'true');
    await expect(localStackProblem('the conformance suite', down)).rejects.toThrow(
      `the conformance suite required (CI or E2E_REQUIRE_LOCALSTACK=1) but no LocalStack answers at ${down}`
    );
  });

  it('fails with E2E_REQUIRE_LOCALSTACK=1 outside CI', async () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('E2E_REQUIRE_LOCALSTACK', '1');
    await expect(localStackProblem('suite', down)).rejects.toThrow('no LocalStack answers');
  });

  it("asks the caller's own check only once LocalStack answers", async () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('E2E_REQUIRE_LOCALSTACK', '');
    const more = vi.fn(() => 'outputs file missing');
    await expect(localStackProblem('suite', up, more)).resolves.toBe('outputs file missing');
    await expect(localStackProblem('suite', down, more)).resolves.toMatch(/no LocalStack/);
    expect(more).toHaveBeenCalledTimes(1);
    await expect(localStackProblem('suite', up)).resolves.toBeUndefined();
  });
});
