/** `fractal resource-query`: being built (see docs/roadmap.md); registered early so its command line is fixed. */
import { FractalError, ErrorCodes } from '../../errors/index.js';

export default async function run(): Promise<number> {
  throw new FractalError(ErrorCodes.NO_SERVICE, '`fractal resource-query` is not available yet in this build (see docs/roadmap.md)');
}
