/**
 * Reads result files (a JSON array or JSONL of CalculationResult) and validates every record
 * before anything is written, so one bad record rejects the batch with all problems listed.
 */
import { readFile } from 'node:fs/promises';
import JSON5 from 'json5';
import { BadInputError } from '../errors.js';
import { CalculationResult, describeIssues } from '../domain/schemas.js';

export interface ResultProblem {
  file: string;
  index: number;
  message: string;
}

/** JSON has no NaN; Python's json writes it anyway. JSON5 reads it so it can be reported. */
function parseJsonTolerant(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON5.parse(text);
  }
}

export function parseResultsText(text: string, file: string): { records: unknown[] } {
  const trimmed = text.trim();
  if (trimmed === '') return { records: [] };
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = parseJsonTolerant(trimmed);
    } catch (err) {
      throw new BadInputError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    return { records: parsed as unknown[] };
  }
  const records: unknown[] = [];
  trimmed.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(parseJsonTolerant(line));
    } catch (err) {
      throw new BadInputError(`${file}: line ${i + 1} is not valid JSON: ${(err as Error).message}`);
    }
  });
  return { records };
}

/**
 * Validates records against the schema and the configured elements. Returns the parsed results,
 * or throws one BadInputError naming every offending file, record and field.
 */
export function validateResults(
  records: readonly unknown[],
  file: string,
  elements?: readonly string[],
): CalculationResult[] {
  const problems: string[] = [];
  const out: CalculationResult[] = [];
  records.forEach((rec, index) => {
    const r = CalculationResult.safeParse(rec, { reportInput: true });
    if (!r.success) {
      problems.push(`${file}: ${describeIssues(r.error, `results[${index}]`).replaceAll('\n', `\n${file}: `)}`);
      return;
    }
    if (elements !== undefined) {
      const allowed = new Set(elements);
      r.data.structure.symbols.forEach((s, j) => {
        if (!allowed.has(s)) {
          problems.push(
            `${file}: results[${index}].structure.symbols.${j}: element not among the configured elements [${elements.join(', ')}] (got ${JSON.stringify(s)})`,
          );
        }
      });
    }
    out.push(r.data);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 50);
    const more = problems.length > shown.length ? `\n... and ${problems.length - shown.length} more` : '';
    throw new BadInputError(`rejected the whole batch; nothing was written:\n${shown.join('\n')}${more}`);
  }
  return out;
}

export async function readResultsFile(file: string, elements?: readonly string[]): Promise<CalculationResult[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BadInputError(`${file}: cannot read results file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const { records } = parseResultsText(text, file);
  if (!Array.isArray(records)) throw new BadInputError(`${file}: expected a JSON array or JSONL of CalculationResult`);
  return validateResults(records, file, elements);
}
