/**
 * Search attributes the workflows upsert, so the Temporal UI and `mlip-trainer list` filter
 * generations by them. Every server must have them registered (temporal-dev.yml does it for the
 * dev stack; `temporal operator search-attribute create` on a cluster): an unregistered one
 * fails the workflow task.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_CAMPAIGN = defineSearchAttributeKey('MlipCampaign', SearchAttributeType.KEYWORD);
export const SA_GENERATION = defineSearchAttributeKey('MlipGeneration', SearchAttributeType.INT);
export const SA_STAGE = defineSearchAttributeKey('MlipStage', SearchAttributeType.KEYWORD);
export const SA_ELEMENTS = defineSearchAttributeKey('MlipElements', SearchAttributeType.KEYWORD_LIST);
/** meV/Å per component; the train RMSE when pacemaker had no test set. */
export const SA_TEST_FORCE_RMSE = defineSearchAttributeKey('MlipTestForceRmse', SearchAttributeType.DOUBLE);

/** The same names and types, for `temporal server start-dev --search-attribute NAME=TYPE`. */
export const SEARCH_ATTRIBUTES = {
  MlipCampaign: 'Keyword',
  MlipGeneration: 'Int',
  MlipStage: 'Keyword',
  MlipElements: 'KeywordList',
  MlipTestForceRmse: 'Double',
} as const;
