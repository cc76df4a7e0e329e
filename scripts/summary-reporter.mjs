// A Node test reporter that ends the run with one line: "N passed, N failed".
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0, todo = 0;
  for await (const ev of source) {
    if (ev.data?.details?.type === 'suite') continue;
    // A todo test (a known bug kept in the suite) counts as todo whatever its outcome, as Node counts it.
    if (ev.data?.todo && (ev.type === 'test:pass' || ev.type === 'test:fail')) todo++;
    else if (ev.type === 'test:pass') (ev.data.skip ? skipped++ : passed++);
    else if (ev.type === 'test:fail') failed++;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${todo ? `, ${todo} todo` : ''}\n`;
}
