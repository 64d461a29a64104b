/** Names that must be the same wherever they are computed: workflow, activities and CLI. */

/** `generation_005`: a potential's version string, as the specification's PotentialArtifact names it. */
export function generationVersion(generation: number): string {
  return `generation_${String(generation).padStart(3, '0')}`;
}

/** Deterministic workflow id, so a second start of the same generation attaches to the first. */
export function trainWorkflowId(campaign: string, generation: number): string {
  return `train-${campaign}-${generationVersion(generation)}`;
}

/** Paths inside a campaign folder, relative to it (the workers own the absolute root). */
export const CAMPAIGN_LAYOUT = {
  dataset: 'data/accumulated.pckl.gzip',
  potentialsDir: 'potentials',
  generationDir: (generation: number) => `potentials/${generationVersion(generation)}`,
} as const;
