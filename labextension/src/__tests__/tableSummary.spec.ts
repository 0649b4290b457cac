import { figure, namedOnly, rounding, summaryCaption, summaryRows } from '../tableSummary';
import type { IColumnSummary, ITableSummary } from '../types';

const PATIENTS: IColumnSummary = {
  name: 'patients',
  numeric: true,
  numbers: 3,
  empty: 0,
  markers: {},
  minimum: 0,
  minimum_above_zero: 705,
  maximum: 1200,
  total: 2855,
  under_threshold: 0,
  rounded_to_5: true,
  rounded_to_10: false,
  midpoint_6: false
};
const SUMMARY: ITableSummary = {
  rows: 3,
  threshold: 7,
  ragged_rows: 0,
  columns: [
    { name: 'region', numeric: false, empty: 0, markers: {} },
    PATIENTS,
    {
      ...PATIENTS,
      name: 'deaths',
      minimum: 5,
      minimum_above_zero: 5,
      maximum: 40,
      total: 45,
      under_threshold: 1,
      markers: { '[REDACTED]': 1 }
    },
    { ...PATIENTS, name: 'rate', minimum: 0.714285, total: 4.0428571, rounded_to_5: false, empty: 1 },
    { name: 'patient_id', numeric: false, withheld: true }
  ]
};

describe('table summaries', () => {
  it('gives each numeric column a row of figures, and no text column one', () => {
    const rows = summaryRows(SUMMARY);
    expect(rows.map(r => r.name)).toEqual(['patients', 'deaths', 'rate']);
    expect(rows[0]).toEqual({
      name: 'patients',
      minimum: '0',
      minimumAboveZero: '705',
      maximum: '1,200',
      total: '2,855',
      underThreshold: 0,
      rounded: 'to 5',
      markers: 'none'
    });
    expect(rows[1].underThreshold).toBe(1);
    expect(rows[1].markers).toBe('[REDACTED] × 1');
    expect(rows[2].markers).toBe('1 empty');
    expect(rows[2].rounded).toBe('no');
  });

  it('names text columns and those that identify people, with no figure', () => {
    expect(namedOnly(SUMMARY)).toEqual({ text: ['region'], withheld: ['patient_id'] });
  });

  it('says how a column is rounded', () => {
    expect(rounding({ ...PATIENTS, rounded_to_10: true })).toBe('to 10');
    expect(rounding({ ...PATIENTS, rounded_to_5: false, midpoint_6: true })).toBe('midpoint 6');
  });

  it('writes figures plainly, and none as a dash', () => {
    expect(figure(null)).toBe('–');
    expect(figure(undefined)).toBe('–');
    expect(figure(1234567)).toBe('1,234,567');
    expect(figure(0.714285714)).toBe('0.714286');
  });

  it('captions the table with the file, where it was made and its rows', () => {
    expect(summaryCaption('output/counts.csv', SUMMARY)).toBe(
      'Summary of output/counts.csv, made on its site: 3 rows'
    );
    expect(summaryCaption('t.csv', { ...SUMMARY, rows: 1, ragged_rows: 2 })).toBe(
      'Summary of t.csv, made on its site: 1 row, 2 of another width than the header'
    );
  });
});
