/** Shared option parsing for the CLI: bad values name the flag and the value. */
export class CliInputError extends Error {}

export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new CliInputError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new CliInputError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function untilSignal(): Promise<void> {
  return new Promise((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
}
