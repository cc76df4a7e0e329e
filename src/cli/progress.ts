/**
 * A progress bar with count, rate and ETA on stderr (cli-progress), for bulk
 * submission and long waits. On a non-terminal it prints one summary line.
 */
import cliProgress from 'cli-progress';

export class Progress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private n = 0;
  private readonly t0 = Date.now();

  constructor(private readonly label: string, private readonly total: number) {
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar({
        format: `${label.padEnd(6)} {bar} {value}/{total} jobs | {rate} jobs/s | ETA {eta_formatted}`,
        stream: process.stderr, hideCursor: true, fps: 10,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total, 0, { rate: '0' });
    }
  }

  tick(n = 1): void {
    this.n += n;
    const secs = (Date.now() - this.t0) / 1000;
    this.bar?.update(this.n, { rate: secs > 0 ? (this.n / secs).toFixed(0) : '0' });
  }

  done(): void {
    const secs = (Date.now() - this.t0) / 1000;
    this.bar?.stop();
    process.stderr.write(`${this.label}: ${this.n}/${this.total} jobs in ${secs.toFixed(2)}s (${secs > 0 ? (this.n / secs).toFixed(0) : '-'} jobs/s)\n`);
  }
}
