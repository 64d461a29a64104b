// Every workflow the worker registers. Deterministic code only: see eslint.config.js.
// Their queries and signals are in src/domain/messages.ts, shared with the clients.
export { trainPotentialWorkflow } from './train-potential.js';
export { activeLearningLoopWorkflow } from './active-learning-loop.js';
