// Prints jest's --json results as the plain closing line "N passed, N failed".
// Suites that failed to run at all (e.g. a compile error) count as failures, and so do
// the static checks (type-check, lint) whose failures scripts/test.sh passes as argument 2.
const fs = require('node:fs');
const file = process.argv[2];
if (!file || !fs.existsSync(file)) {
  console.log(`0 passed, ${1 + Number(process.argv[3] ?? 0)} failed`);
  process.exit(1);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const brokenSuites = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
const staticFailures = Number(process.argv[3] ?? 0);
const failed = r.numFailedTests + brokenSuites + staticFailures;
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || r.numPassedTests === 0 ? 1 : 0);
