// Prints the failed tests of a vitest JSON report, one block each, for the end of .ci/run:
// CI keeps only the tail of the output, and the LocalStack log printed on failure would bury them.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.ci-test-results.json';
const report = JSON.parse(readFileSync(file, 'utf8'));
const failed = [];
for (const suite of report.testResults ?? []) {
  for (const test of suite.assertionResults ?? []) {
    if (test.status === 'failed') failed.push({ file: suite.name, test });
  }
  // A file that failed to load or whose hooks threw has a message but no failed assertion.
  if (
    suite.status === 'failed' &&
    !(suite.assertionResults ?? []).some((t) => t.status === 'failed')
  ) {
    failed.push({
      file: suite.name,
      test: { fullName: '(file or hook)', failureMessages: [suite.message ?? ''] },
    });
  }
}
console.log(
  `--- ${failed.length} failed test(s) (${report.numPassedTests} passed, ${report.numPendingTests} skipped) ---`
);
for (const { file: f, test } of failed) {
  console.log(`FAIL ${f.replace(`${process.cwd()}/`, '')} > ${test.fullName}`);
  const message = (test.failureMessages ?? []).join('\n').split('\n').slice(0, 12).join('\n');
  console.log(message.replace(/^/gm, '    '));
}
