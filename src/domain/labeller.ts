/**
 * The labeller an active-learning loop may run itself: without one, the loop reads the result
 * files another stage prepared; with one, it labels each generation's selection on its own and
 * the loop closes (pool -> select -> label -> update -> fine-tune). Pure (zod only): workflow
 * code checks its input with it.
 */
import { z } from 'zod';

/**
 * The calculators the oracle knows, by name, with the elements each can label. The Python
 * registry (python/src/mlip_trainer/labelling/calculators.py, `mlip-dataset calculators`) is
 * the other half; a process test holds the two equal.
 */
export const ORACLE_CALCULATORS = {
  emt: ['Al', 'Cu', 'Ag', 'Au', 'Ni', 'Pd', 'Pt'],
} as const satisfies Record<string, readonly string[]>;
export type OracleCalculator = keyof typeof ORACLE_CALCULATORS;

/**
 * An oracle: labels the selected structures with a named ASE calculator (EMT: real energies and
 * forces for fcc metals in milliseconds), standing in for DFT, so a campaign can be run and
 * measured end to end.
 */
export const OracleLabeller = z
  .object({
    kind: z.literal('oracle'),
    calculator: z.enum(Object.keys(ORACLE_CALCULATORS) as [OracleCalculator, ...OracleCalculator[]]),
    /** s added before each calculation: stands in for DFT's cost in tests and demos. */
    secondsPerStructure: z.number().min(0).max(3600).default(0),
  })
  .strict();
export type OracleLabeller = z.infer<typeof OracleLabeller>;

export const Labeller = OracleLabeller;
export type Labeller = z.infer<typeof Labeller>;
export type LabellerInput = z.input<typeof Labeller>;

/** Elements of `elements` the labeller's calculator cannot label (empty: it covers them all). */
export function elementsOutside(labeller: Labeller, elements: readonly string[]): string[] {
  const covered: readonly string[] = ORACLE_CALCULATORS[labeller.calculator];
  return elements.filter((e) => !covered.includes(e));
}
