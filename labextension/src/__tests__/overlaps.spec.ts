import * as React from 'react';

import { CELLS_SHOWN, flaggedText, overlapText, Overlaps } from '../components/overlaps';
import type { IOverlap } from '../types';

// react-dom comes with JupyterLab; its types are not installed here, so its one function
// used is typed by hand
const { renderToStaticMarkup } = jest.requireActual<{
  renderToStaticMarkup: (element: React.ReactElement) => string;
}>('react-dom/server');

const RELEASE = '01J9Z3QK6W8E4R2T5Y7U9I0P1A';
const BY_REGION: IOverlap = {
  file: '01J9Z3QK6W8E4R2T5Y7U9I0FIL',
  release: RELEASE,
  workspace: 'sample',
  path: 'output/by_region.csv',
  rows: 1204,
  cells: [
    [1, 'deaths'],
    [3, 'patients']
  ],
  flagged: 2
};

function rendered(path: string, overlaps?: IOverlap[] | null): string {
  return renderToStaticMarkup(React.createElement(Overlaps, { path, overlaps }));
}

describe('overlaps with released tables', () => {
  it('names the released table by its path, workspace and release, and the rows shared', () => {
    expect(overlapText(BY_REGION)).toBe(
      'Shares 1,204 rows with output/by_region.csv (workspace sample, release 7U9I0P1A)'
    );
    expect(overlapText({ ...BY_REGION, rows: 1 })).toContain('Shares 1 row with');
  });

  it('names the flagged cells by row and column', () => {
    expect(flaggedText(BY_REGION)).toBe(
      '2 cells differ by a small count: row 1, deaths; row 3, patients'
    );
    expect(flaggedText({ ...BY_REGION, cells: [[4, 'deaths']], flagged: 1 })).toBe(
      '1 cell differs by a small count: row 4, deaths'
    );
  });

  it('counts the flagged cells it does not name', () => {
    // the job server keeps the first 20 cells; `flagged` counts them all
    const cells = Array.from({ length: 20 }, (_, i): [number, string] => [i + 1, 'deaths']);
    const text = flaggedText({ ...BY_REGION, cells, flagged: 1234 });
    expect(text.startsWith('1,234 cells differ by a small count: row 1, deaths; row 2, deaths')).toBe(true);
    expect(text).toContain(`row ${CELLS_SHOWN}, deaths and 1,224 more`);
    expect(text).not.toContain(`row ${CELLS_SHOWN + 1},`);
    expect(flaggedText({ ...BY_REGION, cells: [], flagged: 3 })).toBe('3 cells differ by a small count');
  });

  it('says nothing of cells when none is flagged', () => {
    expect(flaggedText({ ...BY_REGION, cells: [], flagged: 0 })).toBe('');
    expect(flaggedText({ ...BY_REGION, cells: undefined, flagged: undefined })).toBe('');
  });

  it('lists each overlap in a list labelled with the file under review', () => {
    const other: IOverlap = { ...BY_REGION, file: 'F2', path: 'output/by_sex.csv', cells: [], flagged: 0 };
    const html = rendered('output/under_90.csv', [BY_REGION, other]);
    expect(html).toContain('Overlaps released tables');
    expect(html).toContain('<ul class="jp-ext-findings" aria-label="Released tables overlapping output/under_90.csv">');
    expect(html.match(/<li /g)).toHaveLength(2);
    expect(html).toContain(
      'Shares 1,204 rows with output/by_region.csv (workspace sample, release 7U9I0P1A); ' +
        '<span class="jp-ext-finding-flag">2 cells differ by a small count: row 1, deaths; row 3, patients</span>'
    );
    expect(html).toContain('Shares 1,204 rows with output/by_sex.csv (workspace sample, release 7U9I0P1A)</li>');
    expect(html).toContain(`title="release ${RELEASE}"`);
  });

  it('shows nothing for a file that overlaps nothing', () => {
    expect(rendered('output/a.csv', [])).toBe('');
    expect(rendered('output/a.csv', undefined)).toBe('');
    expect(rendered('output/a.csv', null)).toBe('');
  });

  it('shows a hostile path as text, never markup', () => {
    const path = 'output/<img src=x onerror=alert(1)>.csv';
    const html = rendered(path, [{ ...BY_REGION, path, workspace: '<b>ws</b>' }]);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('output/&lt;img src=x onerror=alert(1)&gt;.csv');
    expect(html).toContain('workspace &lt;b&gt;ws&lt;/b&gt;');
  });
});
