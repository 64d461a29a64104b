/** Reads YAML/JSON config files and validates them; errors name the file, field path and value. */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { TrainerConfig, describeIssues } from '../domain/schemas.js';
import { DEFAULT_STACK_BASE, DEFAULT_STACK_FILE } from '../paths.js';

export async function loadYamlFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BadInputError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file });
  } catch (err) {
    throw new BadInputError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const r = schema.safeParse(doc ?? {}, { reportInput: true });
  if (!r.success) throw new BadInputError(`${file}: invalid configuration:\n${describeIssues(r.error).replace(/^/gm, '  ')}`);
  return r.data;
}

/**
 * A trainer config file: either `engine: pacemaker` with a `pacemaker:` section, or the
 * pacemaker fields at the top level (engine defaults to pacemaker).
 */
export async function loadTrainerConfig(file: string): Promise<TrainerConfig> {
  const Flexible = z.preprocess((doc) => {
    if (doc !== null && typeof doc === 'object' && !('engine' in doc) && !('pacemaker' in doc)) {
      return { engine: 'pacemaker', pacemaker: doc };
    }
    return doc;
  }, TrainerConfig);
  return loadYamlFile(file, Flexible);
}

export const PacemakerLocationSchema = z.string().min(1).default('auto');

/** temporal-dev.yml: the embedded dev stack. */
export const DevStackConfig = z
  .object({
    server: z
      .object({
        ip: z.string().default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(7233),
        uiPort: z.number().int().min(1).max(65535).default(8233),
        namespace: z.string().min(1).default('default'),
        dbFile: z.string().min(1).default('.mlip/temporal-dev.sqlite'),
        searchAttributes: z
          .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), z.enum(['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']))
          .default({}),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        taskQueue: z.string().min(1).default('mlip-trainer'),
        workspace: z.string().min(1).default('.mlip/workspace'),
        pacemaker: PacemakerLocationSchema,
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type DevStackConfig = z.infer<typeof DevStackConfig>;

/**
 * Loads temporal-dev.yml with relative paths resolved against its folder; those of the package's
 * own file against DEFAULT_STACK_BASE (an installed package keeps its state per user).
 */
export async function loadDevStackConfig(file: string): Promise<DevStackConfig> {
  const cfg = await loadYamlFile(file, DevStackConfig);
  // MLIP_PACEMAKER points every entry point at one installation without editing the file.
  if (process.env.MLIP_PACEMAKER) cfg.worker.pacemaker = process.env.MLIP_PACEMAKER;
  const base = resolve(file) === DEFAULT_STACK_FILE ? DEFAULT_STACK_BASE : dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    server: { ...cfg.server, dbFile: abs(cfg.server.dbFile) },
    worker: {
      ...cfg.worker,
      workspace: abs(cfg.worker.workspace),
      pacemaker: ['auto', 'simulator'].includes(cfg.worker.pacemaker) ? cfg.worker.pacemaker : abs(cfg.worker.pacemaker),
    },
  };
}
