/**
 * The stack's construct id, which is also its CloudFormation stack name and the
 * top-level key of `cdk deploy --outputs-file` JSON. The CLI, the demo, the
 * LocalStack deploy and the local runtime all find the deployed resources by it.
 */
export const STACK_NAME = 'VideoPipeline';
