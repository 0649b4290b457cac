/**
 * A table's summary, made on its site when the job ended (schema.TableSummary), as the
 * review section shows it: one row of words per numeric column; text columns by name only,
 * as no text cell ever leaves the site.
 */
import type { IColumnSummary, ITableSummary } from './types';

/** One numeric column's figures, as text for the cells of a row. */
export interface ISummaryRow {
  name: string;
  minimum: string;
  minimumAboveZero: string;
  maximum: string;
  total: string;
  underThreshold: number;
  rounded: string;
  markers: string;
}

const NONE = '–';

/** A figure: whole numbers with thousands separators, others to six significant digits. */
export function figure(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return NONE;
  }
  if (Number.isInteger(value)) {
    return value.toLocaleString('en-GB');
  }
  return Number(value.toPrecision(6)).toLocaleString('en-GB', { maximumFractionDigits: 6 });
}

/** How every value is rounded: to 10 (so to 5 too), to 5, midpoint 6, or "no". */
export function rounding(column: IColumnSummary): string {
  const kinds = column.rounded_to_10 ? ['to 10'] : column.rounded_to_5 ? ['to 5'] : [];
  if (column.midpoint_6) {
    kinds.push('midpoint 6');
  }
  return kinds.length ? kinds.join(', ') : 'no';
}

function markers(column: IColumnSummary): string {
  const seen = Object.entries(column.markers ?? {}).map(
    ([marker, count]) => `${marker} × ${count.toLocaleString('en-GB')}`
  );
  if (seen.length) {
    return seen.join(', ');
  }
  return column.empty ? `${column.empty.toLocaleString('en-GB')} empty` : 'none';
}

export function summaryRows(summary: ITableSummary): ISummaryRow[] {
  return summary.columns
    .filter(c => c.numeric)
    .map(c => ({
      name: c.name,
      minimum: figure(c.minimum),
      minimumAboveZero: figure(c.minimum_above_zero),
      maximum: figure(c.maximum),
      total: figure(c.total),
      underThreshold: c.under_threshold ?? 0,
      rounded: rounding(c),
      markers: markers(c)
    }));
}

/** Columns named only: text ones, and those that identify people (no figures). */
export function namedOnly(summary: ITableSummary): { text: string[]; withheld: string[] } {
  return {
    text: summary.columns.filter(c => !c.numeric && !c.withheld).map(c => c.name),
    withheld: summary.columns.filter(c => c.withheld).map(c => c.name)
  };
}

/** The caption: which file, where it was made, its rows. */
export function summaryCaption(path: string, summary: ITableSummary): string {
  const rows = `${summary.rows.toLocaleString('en-GB')} ${summary.rows === 1 ? 'row' : 'rows'}`;
  const ragged = summary.ragged_rows
    ? `, ${summary.ragged_rows.toLocaleString('en-GB')} of another width than the header`
    : '';
  return `Summary of ${path}, made on its site: ${rows}${ragged}`;
}
