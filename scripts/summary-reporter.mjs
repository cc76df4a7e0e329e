// A Node test reporter that ends the run with one line: "N passed, N failed".
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  for await (const ev of source) {
    if (ev.data?.details?.type === 'suite') continue;
    if (ev.type === 'test:pass') (ev.data.skip || ev.data.todo ? skipped++ : passed++);
    else if (ev.type === 'test:fail') failed++;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
