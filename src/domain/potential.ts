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

/**
 * The reference energies (eV per atom of each element, plus pacemaker's `shift`) a fitted
 * potential was trained against, from its metadata. With `reference_energy: auto` pacemaker
 * recomputes them from whatever data it is given; a fine-tune or resume on other data would then
 * start from energies shifted by eV per atom, so they are pinned to the parent's.
 */
export function fittedReferenceEnergy(doc: unknown): Record<string, number> | null {
  if (doc === null || typeof doc !== 'object') return null;
  const meta = (doc as Record<string, unknown>).metadata;
  if (meta === null || typeof meta !== 'object') return null;
  let raw: unknown = (meta as Record<string, unknown>).reference_energy;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return null;
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * What `fit.repulsion: auto` writes into a fitted potential after its fit (pyace's
 * setup_zbl_inner_core_repulsion), and the values the potential had while it was fitted
 * (pacemaker's unfitted shape: no inner cutoff, no core repulsion).
 */
const PRE_REPULSION_VALUES: ReadonlyArray<readonly [string, string]> = [
  ['rho_core_cut', '100000'],
  ['drho_core_cut', '250'],
  ['r_in', '0'],
  ['delta_in', '0'],
  ['inner_cutoff_type', 'distance'],
  ['core-repulsion', '[0, 0]'],
];

/**
 * A fitted potential's text with the inner cutoff and ZBL core repulsion that `repulsion: auto`
 * added after its fit taken out again, so a fine-tune starts from the state the parent was
 * fitted in. Kept, the parent's inner cutoff (its data's shortest bond) would switch new
 * structures with shorter bonds onto the ZBL core during the whole fit (measured with a real
 * pacemaker: force RMSE 27,182 meV/Å at the fine-tune's first step instead of 295 meV/Å, the
 * parent having ended at 293), and pacemaker sets it anew from all the data after the fine-tune.
 *
 * Edits only the values of those keys, line by line, so every coefficient keeps pacemaker's own
 * digits. `configured` holds what the config's `potential.embeddings.ALL` / `potential.bonds.ALL`
 * set for these keys (the values the parent was fitted with); pacemaker's defaults otherwise.
 */
export function withoutAutoRepulsion(text: string, configured: Record<string, unknown> = {}): string {
  let out = text;
  for (const [key, fallback] of PRE_REPULSION_VALUES) {
    const given = configured[key];
    const list = Array.isArray(given) ? given.map(scalarText) : null;
    const value = list && list.every((x) => x !== null) ? `[${list.join(', ')}]` : (scalarText(given) ?? fallback);
    const escaped = key.replace(/[-]/g, '\\-');
    out = out.replace(new RegExp(`^(\\s+)${escaped}:[^\\n]*$`, 'gm'), (_m, indent: string) => `${indent}${key}: ${value}`);
  }
  return out;
}

function scalarText(v: unknown): string | null {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? String(v) : null;
}
