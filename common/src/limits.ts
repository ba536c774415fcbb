/** The contract's limits that gateway (cost) and subgraphs (pagination) both enforce. */

/** The largest page a list returns. */
export const MAX_PAGE_SIZE = 100;
/** The longest free-text search accepted. */
export const MAX_SEARCH_LENGTH = 100;
