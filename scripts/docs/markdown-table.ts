/** Text as one cell of a Markdown table: on one line, its pipes escaped. */
export const tableCell = (text: string) => text.replace(/\s+/g, ' ').replaceAll('|', '\\|').trim();
