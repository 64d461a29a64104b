/**
 * The workflows upsert custom search attributes; on a server that lacks one, every workflow
 * task fails and generations sit in "running" forever. Workers check at start and say which
 * are missing and how to register them.
 */
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';

export interface SearchAttributeCheck {
  missing: string[];
  /** The server would not say (e.g. an API key without operator rights): nothing is known. */
  unknown: boolean;
  /** Commands that register the missing ones. */
  fix: string[];
}

export async function checkSearchAttributes(client: Client, namespace: string): Promise<SearchAttributeCheck> {
  let present: Record<string, unknown>;
  try {
    const res = await client.connection.operatorService.listSearchAttributes({ namespace });
    present = { ...(res.customAttributes ?? {}), ...(res.systemAttributes ?? {}) };
  } catch {
    return { missing: [], unknown: true, fix: [] };
  }
  const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in present));
  return {
    missing,
    unknown: false,
    fix: missing.map(
      (name) =>
        `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${SEARCH_ATTRIBUTES[name as keyof typeof SEARCH_ATTRIBUTES]}`,
    ),
  };
}
