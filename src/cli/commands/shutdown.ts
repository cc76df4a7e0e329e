import { open } from '../util.js';

export default async function shutdown(): Promise<number> {
  const f = await open();
  const info = await f.rpc<{ pid: number }>('broker.info', {}, 0);
  await f.shutdown();
  f.close();
  // Return once the broker is gone, so that a following start finds the state free.
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    try { process.kill(info.pid, 0); } catch { return 0; }
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stderr.write('fractal shutdown: the broker is still running after 15s\n');
  return 1;
}
