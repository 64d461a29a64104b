// Every workflow the worker registers. Deterministic code only: see eslint.config.js.
export { trainPotentialWorkflow, progressQuery, stopTrainingSignal } from './train-potential.js';
export { activeLearningLoopWorkflow, loopProgressQuery } from './active-learning-loop.js';
