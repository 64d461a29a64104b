/** Reading what matters from a pacemaker potential YAML (parsed), in either of its shapes. */

export interface PotentialShape {
  elements: string[];
  /** Largest radial cutoff, Å. */
  cutoff: number | null;
  /** Fit cycles already done (`_fit_cycles` in metadata): non-zero makes pacemaker skip fitting. */
  fitCycles: number;
  /** Basis functions per central element (fitted YAML only; empty for an input-style shape). */
  functionsPerElement: Record<string, number>;
}

/**
 * A fitted potential (output_potential.yaml) lists species blocks (`speciesblock: Cu`,
 * `speciesblock: Cu Ni`, each with `rcutij`); an input-style shape lists `elements` and `cutoff`.
 */
export function describePotential(doc: unknown): PotentialShape | null {
  if (doc === null || typeof doc !== 'object') return null;
  const d = doc as Record<string, unknown>;
  const meta = (d.metadata ?? {}) as Record<string, unknown>;
  const fitCycles = Number(meta._fit_cycles ?? d._fit_cycles ?? 0) || 0;
  if (Array.isArray(d.species)) {
    const blocks = d.species as Record<string, unknown>[];
    const elements = blocks
      .map((b) => (typeof b.speciesblock === 'string' ? b.speciesblock : '').trim().split(/\s+/))
      .filter((t) => t.length === 1 && t[0] !== '')
      .map((t) => t[0]!);
    const cuts = blocks.map((b) => Number(b.rcutij)).filter(Number.isFinite);
    const functionsPerElement: Record<string, number> = {};
    for (const b of blocks) {
      const central = (typeof b.speciesblock === 'string' ? b.speciesblock : '').trim().split(/\s+/)[0];
      if (central) functionsPerElement[central] = (functionsPerElement[central] ?? 0) + (Array.isArray(b.nbody) ? b.nbody.length : 0);
    }
    return { elements, cutoff: cuts.length > 0 ? Math.max(...cuts) : null, fitCycles, functionsPerElement };
  }
  if (Array.isArray(d.elements)) {
    const cutoff = Number(d.cutoff);
    return { elements: (d.elements as unknown[]).map(String), cutoff: Number.isFinite(cutoff) ? cutoff : null, fitCycles, functionsPerElement: {} };
  }
  return null;
}
