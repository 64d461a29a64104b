// Every workflow the worker registers. Deterministic code only: see eslint.config.js.
export { trainPotentialWorkflow, progressQuery } from './train-potential.js';
