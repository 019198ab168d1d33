import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { VideoPipelineStack } from '../../lib/stacks/video-pipeline-stack.js';

/** Stack props the video stack refuses at construction, each with its own message. */
describe('VideoPipelineStack prop validation', () => {
  it.each([0, -1, 2.5])('refuses maxRunningWorkflows %s', (maxRunningWorkflows) => {
    // Prepare: no bundling, the stack throws before it would matter.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // Act
    const build = () => new VideoPipelineStack(app, 'S', { maxRunningWorkflows });
    // Assess
    expect(build).toThrow(
      `maxRunningWorkflows must be a positive integer, got ${maxRunningWorkflows}`
    );
  });
});
